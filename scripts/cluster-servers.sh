# Sourced by scripts/bench-cluster.sh and scripts/scale-cluster.sh: the private Redis (and
# MariaDB) their nodes share, started if need be and left running, like scripts/cluster.sh.

# use_cluster_servers USE_DB REDIS_DB: exports what chatd reads (CHATD_REDIS, its password, and
# CHATD_DB when USE_DB is 1, else none so the nodes store in memory); rcli then runs redis-cli
# on database REDIS_DB of that Redis.
use_cluster_servers() {
  "$root/scripts/redis.sh" start > /dev/null
  eval "$("$root/scripts/redis.sh" env)"
  export CHATD_CLUSTER_PASSWORD
  if [[ $1 == 1 ]]; then
    "$root/scripts/db.sh" start > /dev/null
    eval "$("$root/scripts/db.sh" env)"
    export CHATD_DB CHATD_DB_PASSWORD
  else
    unset CHATD_DB CHATD_DB_PASSWORD
  fi
  cluster_redis_db=$2
  cluster_redis_hostport=${CHATD_REDIS#redis://}
  cluster_redis_hostport=${cluster_redis_hostport%%/*}
  [[ $(rcli ping) == PONG ]] || { echo "${0##*/}: Redis at $CHATD_REDIS does not answer" >&2; exit 1; }
}

rcli() {
  REDISCLI_AUTH=$CHATD_CLUSTER_PASSWORD redis-cli -h "${cluster_redis_hostport%:*}" \
    -p "${cluster_redis_hostport##*:}" -n "$cluster_redis_db" "$@"
}
