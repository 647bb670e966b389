namespace Storefleet.Core.Stores;

/// <summary>
/// Where a clone's data comes from: backup <paramref name="Backup"/> (restic snapshot <paramref name="Snapshot"/>) of store
/// <paramref name="Store"/>, in that store's repository <paramref name="Repository"/> (its name and uid, so it is found
/// after the source was deleted, and never confused with a later store of the same name). The new store's bootstrap
/// restores it, then moves it to its own URL and administrator password.
/// </summary>
public sealed record CloneSource(string Store, string Backup, string Snapshot, string Repository);
