#!/bin/sh
# Open MPI's launch agent (--mca plm_rsh_agent) for nodes that are network namespaces on
# this machine: called as `netns_agent.sh HOST COMMAND...` like ssh, it runs COMMAND in
# the namespace that CYCLEGAN_NETNS_MAP ("ADDRESS=NAMESPACE ...") gives for HOST.
host=$1
shift
for pair in $CYCLEGAN_NETNS_MAP; do
  if [ "${pair%%=*}" = "$host" ]; then
    echo "netns_agent: $host -> ${pair#*=}" >&2
    exec ip netns exec "${pair#*=}" /bin/sh -c "$*"
  fi
done
echo "netns_agent: no namespace for host '$host' in CYCLEGAN_NETNS_MAP='$CYCLEGAN_NETNS_MAP'" >&2
exit 1
