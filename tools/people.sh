# Sourced by the scripts in tools/: the people of a data directory, through its running daemon
# (one door). `tdr_admins` has the service user (this shell) bootstrap the two first
# administrators, two persons, and sets ADMIN1 and ADMIN2 to their tokens; `tdr_user NAME ROLE`
# prints the token of a new user of their own person, added by the first administrator and
# approved by the second (ops users need no approval). Both run `tdr_cli`, which the sourcing
# script defines (the tdr binary with its --data-dir or --config).
tdr_admins() {
  ADMIN1=$(tdr_cli admin bootstrap "${1:-admin}-1" --person "${1:-admin} one" --employee-id "${1:-admin}-1" 2>/dev/null)
  ADMIN2=$(tdr_cli admin bootstrap "${1:-admin}-2" --person "${1:-admin} two" --employee-id "${1:-admin}-2" 2>/dev/null)
}

tdr_user() {
  local token
  token=$(TDR_TOKEN=$ADMIN1 tdr_cli user add "$1" --role "$2" --person "${3:-person $1}" --employee-id "${4:-E-$1}" 2>/dev/null)
  if [ "$2" != ops ]; then
    TDR_TOKEN=$ADMIN2 tdr_cli user approve "$1" >/dev/null
  fi
  printf '%s\n' "$token"
}

# `tdr_account NAME ROLE FILE`: as tdr_user, and writes the desk's one-time password (which
# `tdr user add` prints on stderr) to FILE (0600).
tdr_account() {
  local err token
  err=$(mktemp)
  token=$(TDR_TOKEN=$ADMIN1 tdr_cli user add "$1" --role "$2" --person "person $1" --employee-id "E-$1" 2>"$err")
  (umask 077 && sed -n 's/^desk password: //p' "$err" >"$3")
  rm -f "$err"
  if [ "$2" != ops ]; then
    TDR_TOKEN=$ADMIN2 tdr_cli user approve "$1" >/dev/null
  fi
  printf '%s\n' "$token"
}
