# shellcheck shell=sh disable=SC2034
# (SCRIPT_NAME and STORE_REPOSITORY_NAME are set by the scripts that source this file.)
# Shared by the backup and restore scripts that run restic (sourced, never run). POSIX sh: the restic image has busybox.
#
# The repository: RESTIC_REPOSITORY_BASE (one path per store beneath it: rest:https://host/storefleet,
# s3:https://s3.amazonaws.com/bucket/storefleet, /mnt/backups for a local volume) + "/" + the store's name. Credentials
# come only from the environment, filled from Secrets: RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD), AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY for S3, RESTIC_REST_USERNAME / RESTIC_REST_PASSWORD for a REST server (put into the repository
# URL here, in the environment only: never on a command line, and restic redacts it from what it prints).

log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "${SCRIPT_NAME:-backup}" "$*"; }

# The repository of store $1 (the store itself, or a clone's source store).
repository_for() {
  base="${RESTIC_REPOSITORY_BASE%/}"
  case "${base}" in
    rest:http://*|rest:https://*)
      if [ -n "${RESTIC_REST_USERNAME:-}" ]; then
        scheme="${base%%://*}://"
        rest="${base#*://}"
        base="${scheme}$(url_escape "${RESTIC_REST_USERNAME}"):$(url_escape "${RESTIC_REST_PASSWORD-}")@${rest}"
      fi
      ;;
  esac
  printf '%s/%s' "${base}" "$1"
}

# Percent-encodes every byte but unreserved characters (RFC 3986), so any password fits in a URL's userinfo.
url_escape() {
  printf '%s' "$1" | od -An -v -tx1 | tr -s ' ' '\n' | while read -r hex; do
    case "${hex}" in
      "") ;;
      2d|2e|5f|7e|3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]) printf '%b' "\\0$(printf '%o' "0x${hex}")" ;;
      *) printf '%%%s' "$(printf '%s' "${hex}" | tr 'a-f' 'A-F')" ;;
    esac
  done
}

# The reason a failed restic command gives ($1: its error output), as a person should read it.
restic_failure_reason() {
  # Most specific first: a refused credential or an unreachable server also makes restic ask "Is there a repository
  # at the following location?", so those are recognised before a missing repository is concluded.
  case "$1" in
    *"already locked"*)
      reason="the backup repository is locked by another restic process (a backup, retention or check) for longer than ${LOCK_WAIT_SECONDS:-0}s: try again later; if none is running, the lock is stale and 'restic unlock' removes it" ;;
    *"wrong password"*|*"no key found"*)
      reason="the restic password does not open the repository of ${STORE_REPOSITORY_NAME:-this store}: check the password Secret (it must be the one the repository was created with)" ;;
    *" 401"*|*" 403"*|*"Unauthorized"*|*"Forbidden"*|*"AccessDenied"*|*"Access Denied"*|*"SignatureDoesNotMatch"*|*"InvalidAccessKeyId"*|*"does not exist in our records"*)
      reason="the backup repository refused the credentials: check the repository credentials Secret" ;;
    *"connection refused"*|*"no such host"*|*"i/o timeout"*|*"network is unreachable"*|*"context deadline exceeded"*|*"TLS handshake timeout"*|*"connection reset"*)
      reason="the backup repository is unreachable: check the repository URL, that the server is running, and the store's backup NetworkPolicy" ;;
    *"no space left on device"*)
      reason="a volume ran out of space: grow it (a larger plan) and try again" ;;
    *"ciphertext verification failed"*|*"pack"*"contains"*"error"*|*"does not match"*|*"Pack ID"*|*"errors were found"*|*"invalid data returned"*)
      reason="the backup repository is damaged (a file failed verification): run 'restic check --read-data' against it and restore from another backup" ;;
    *"Is there a repository at the following location"*)
      reason="there is no backup repository for ${STORE_REPOSITORY_NAME:-this store} at the configured location: check the repository URL, or take a backup first" ;;
    *)
      reason="restic failed: $(printf '%s' "$1" | tail -n 3 | tr '\n' ' ')" ;;
  esac
  printf '%s' "${reason}"
}

# Explains a failed restic command ($1: its error output): logged, and the termination message the control plane shows.
explain_restic_failure() {
  reason="$(restic_failure_reason "$1")"
  log "FAILED: ${reason}" >&2
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
}

# Writes the container's termination message (what the control plane reads instead of the log).
terminate() {
  path="${TERMINATION_MESSAGE_PATH:-/dev/termination-log}"
  if [ -w "${path}" ] || [ -w "$(dirname "${path}")" ]; then
    printf '%s' "$1" > "${path}"
  fi
}

# fail <reason>: logs it, reports it as the container's result (what the control plane shows) and stops.
fail() {
  log "FAILED: $1"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "$1")\"}"
  exit 1
}

json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r\t'; }

# A numeric field of a restic JSON line ($2: field name).
json_number() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p"; }
json_string() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }

# Succeeds when the store's repository exists; fails (status 1) when restic says it is missing and nothing else is
# wrong (a refused credential or an unreachable server makes restic ask for the repository too); anything else is
# explained and exits.
repository_exists() {
  errors="$(mktemp)"
  if restic cat config >/dev/null 2>"${errors}"; then
    rm -f "${errors}"
    return 0
  fi
  message="$(cat "${errors}")"
  rm -f "${errors}"
  case "$(restic_failure_reason "${message}")" in
    *"there is no backup repository"*) return 1 ;;
  esac
  printf '%s\n' "${message}" >&2
  explain_restic_failure "${message}"
  exit 1
}

# Runs restic; on failure explains it and exits. A repository locked by another restic (a backup, retention, a check)
# is waited for, up to LOCK_WAIT_SECONDS. restic's error output is kept for the explanation (and printed: restic
# redacts credentials from it); stdout goes to the caller.
restic_or_fail() {
  waited=0
  while :; do
    errors="$(mktemp)"
    if restic "$@" 2>"${errors}"; then
      rm -f "${errors}"
      return 0
    fi
    if grep -q 'already locked' "${errors}" && [ "${waited}" -lt "${LOCK_WAIT_SECONDS:-0}" ]; then
      rm -f "${errors}"
      log "waiting for the repository lock (another backup, retention or check is running; ${waited}s so far)" >&2
      sleep "${LOCK_RETRY_SECONDS:-10}"
      waited=$(( waited + ${LOCK_RETRY_SECONDS:-10} ))
      continue
    fi
    cat "${errors}" >&2
    message="$(cat "${errors}")"
    rm -f "${errors}"
    explain_restic_failure "${message}"
    exit 1
  done
}
