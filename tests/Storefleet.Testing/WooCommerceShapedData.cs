using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Storefleet.Testing;

/// <summary>
/// A WooCommerce-shaped store for backup tests and benchmarks: WordPress's and WooCommerce's main tables (options,
/// posts with UTF-8 text, post meta, HPOS orders with decimals and dates, order items), a binary column, a trigger and a
/// stored procedure; and a wp-content tree (plugins, themes, uploads of binary files, names with spaces and non-ASCII
/// characters, an empty directory, a symlink). Deterministic for a given seed.
/// </summary>
public static class WooCommerceShapedData
{
    public const string Schema = """
        CREATE TABLE wp_options (option_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, option_name VARCHAR(191) NOT NULL UNIQUE,
          option_value LONGTEXT NOT NULL, autoload VARCHAR(20) NOT NULL DEFAULT 'yes') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
        CREATE TABLE wp_posts (ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, post_author BIGINT UNSIGNED NOT NULL DEFAULT 0,
          post_date DATETIME NOT NULL, post_content LONGTEXT NOT NULL, post_title TEXT NOT NULL, post_status VARCHAR(20) NOT NULL DEFAULT 'publish',
          post_type VARCHAR(20) NOT NULL DEFAULT 'post', KEY type_status_date (post_type, post_status, post_date, ID)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
        CREATE TABLE wp_postmeta (meta_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, post_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
          meta_key VARCHAR(255) DEFAULT NULL, meta_value LONGTEXT, KEY post_id (post_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
        CREATE TABLE wp_wc_orders (id BIGINT UNSIGNED PRIMARY KEY, status VARCHAR(20), currency VARCHAR(10), total_amount DECIMAL(26,8),
          customer_id BIGINT UNSIGNED, billing_email VARCHAR(320), date_created_gmt DATETIME, customer_note TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
        CREATE TABLE wp_woocommerce_order_items (order_item_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, order_item_name TEXT NOT NULL,
          order_item_type VARCHAR(200) NOT NULL DEFAULT '', order_id BIGINT UNSIGNED NOT NULL, KEY order_id (order_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
        CREATE TABLE wp_storefleet_blobs (id INT PRIMARY KEY, data LONGBLOB NOT NULL) ENGINE=InnoDB;
        CREATE TABLE wp_order_audit (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, order_id BIGINT UNSIGNED, note VARCHAR(100)) ENGINE=InnoDB;
        CREATE TRIGGER wp_orders_audit AFTER INSERT ON wp_wc_orders FOR EACH ROW INSERT INTO wp_order_audit (order_id, note) VALUES (NEW.id, 'created');
        CREATE PROCEDURE wp_order_count(OUT n BIGINT) SELECT COUNT(*) INTO n FROM wp_wc_orders;
        """;

    /// <summary>
    /// SQL that fills the tables with <paramref name="orders"/> orders (about 1 KiB of rows each), numbered from
    /// <paramref name="firstId"/>; the fixed rows (options, a binary value) come with the first order.
    /// </summary>
    public static string Rows(int orders, int seed = 1, int firstId = 1)
    {
        var random = new Random(seed);
        var sql = new StringBuilder();
        if (firstId == 1)
        {
            sql.AppendLine("INSERT INTO wp_options (option_name, option_value) VALUES ('siteurl', 'http://shop.localtest.me'), ('blogname', 'Café «Zürich» 🛒'), ('woocommerce_currency', 'EUR');");
            sql.Append("INSERT INTO wp_storefleet_blobs (id, data) VALUES (1, 0x");
            sql.Append(Convert.ToHexString(Enumerable.Range(0, 256).Select(b => (byte)b).ToArray()));
            sql.AppendLine(");");
        }

        const int batch = 200;
        var end = firstId + orders - 1;
        for (var first = firstId; first <= end; first += batch)
        {
            var last = Math.Min(end, first + batch - 1);
            var posts = new List<string>();
            var meta = new List<string>();
            var wcOrders = new List<string>();
            var items = new List<string>();
            for (var id = first; id <= last; id++)
            {
                var when = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(random.Next(0, 500_000)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                var text = Words(random, 80);
                posts.Add($"({id}, 1, '{when}', '{text} — Ærøskøbing ✓', 'Order #{id}', 'wc-completed', 'shop_order')");
                meta.Add($"({id}, '_billing_address_index', '{Words(random, 20)}')");
                meta.Add($"({id}, '_order_key', 'wc_order_{random.NextInt64():x}')");
                var total = (random.Next(100, 5_000_000) / 100m).ToString(CultureInfo.InvariantCulture);
                wcOrders.Add($"({id}, 'wc-completed', 'EUR', {total}, {random.Next(1, 500)}, 'customer{id}@example.com', '{when}', 'Bitte klingeln — «merci»')");
                items.Add($"('Product {random.Next(1, 300)} ☕', 'line_item', {id})");
            }

            sql.AppendLine($"INSERT INTO wp_posts (ID, post_author, post_date, post_content, post_title, post_status, post_type) VALUES {string.Join(",", posts)};");
            sql.AppendLine($"INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES {string.Join(",", meta)};");
            sql.AppendLine($"INSERT INTO wp_wc_orders (id, status, currency, total_amount, customer_id, billing_email, date_created_gmt, customer_note) VALUES {string.Join(",", wcOrders)};");
            sql.AppendLine($"INSERT INTO wp_woocommerce_order_items (order_item_name, order_item_type, order_id) VALUES {string.Join(",", items)};");
        }

        return sql.ToString();
    }

    /// <summary>Creates the schema and rows in <paramref name="database"/>.</summary>
    public static async Task FillDatabaseAsync(MariaDbServerProcess server, string database, int orders, int seed = 1)
    {
        await CreateSchemaAsync(server, database);
        await server.ExecuteAsync(Rows(orders, seed), database);
    }

    public static Task CreateSchemaAsync(MariaDbServerProcess server, string database) =>
        server.ExecuteAsync("DELIMITER //\n" + Schema.Replace(";\n", "//\n", StringComparison.Ordinal).TrimEnd().TrimEnd(';') + "//\nDELIMITER ;\n", database);

    /// <summary>Adds orders in batches until about <paramref name="sqlBytes"/> of row data were inserted; the number of orders.</summary>
    public static async Task<int> FillToSizeAsync(MariaDbServerProcess server, string database, long sqlBytes)
    {
        const int chunk = 20_000;
        var written = 0L;
        var orders = 0;
        while (written < sqlBytes)
        {
            var rows = Rows(chunk, seed: orders + 1, firstId: orders + 1);
            await server.ExecuteAsync(rows, database);
            written += Encoding.UTF8.GetByteCount(rows);
            orders += chunk;
        }

        return orders;
    }

    /// <summary>Writes a wp-content tree whose uploads add up to about <paramref name="uploadBytes"/> of incompressible data.</summary>
    public static void WriteContent(string contentDirectory, long uploadBytes, int seed = 1)
    {
        var random = new Random(seed);
        Write(Path.Combine(contentDirectory, "plugins", "woocommerce", "woocommerce.php"), Encoding.UTF8.GetBytes("<?php\n/* Plugin Name: WooCommerce */\n"));
        Write(Path.Combine(contentDirectory, "themes", "storefront", "style.css"), Encoding.UTF8.GetBytes("/* Theme Name: Storefront */\nbody { color: #333; }\n"));
        Write(Path.Combine(contentDirectory, "uploads", "2026", "11", "Café menu — ünïcode.txt"), Encoding.UTF8.GetBytes("Menü: Crème brûlée 🍮\n"));
        Directory.CreateDirectory(Path.Combine(contentDirectory, "uploads", "2026", "12"));
        File.CreateSymbolicLink(Path.Combine(contentDirectory, "uploads", "latest"), "2026/11");
        var written = 0L;
        for (var i = 0; written < uploadBytes; i++)
        {
            var size = (int)Math.Min(uploadBytes - written, random.Next(20_000, 2_000_000));
            var bytes = new byte[size];
            random.NextBytes(bytes);
            Write(Path.Combine(contentDirectory, "uploads", "2026", "11", $"product-{i:0000}.jpg"), bytes);
            written += size;
        }
    }

    /// <summary>Every file under a directory (relative path → SHA-256, symlink target or "dir"), for byte-for-byte comparisons.</summary>
    public static SortedDictionary<string, string> Fingerprint(string directory)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(directory, entry.FullName);
            result[relative] = entry.LinkTarget is { } target ? "link:" + target
                : entry is DirectoryInfo ? "dir"
                : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry.FullName)));
        }

        return result;
    }

    private static void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static string Words(Random random, int count) =>
        string.Join(' ', Enumerable.Range(0, count).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));

    private static readonly string[] Vocabulary = ["coffee", "beans", "grinder", "espresso", "order", "shipping", "Straße", "naïve", "crème", "日本", "price", "sale", "bag", "mug", "tea"];
}
