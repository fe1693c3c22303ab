#!/usr/bin/env bash
# Two "nodes" on this machine: network namespaces joined by a veth pair, each with its own
# address. launch/mpirun.sh runs inside the first with a two-line hostfile; Open MPI starts
# the second node's daemon through netns_agent.sh (in place of ssh), and the ranks talk over
# TCP only (btl tcp,self), so every byte between them crosses the veth pair. The run must
# end with the same weights as the same 2-rank run on one node, and the veth must have
# carried at least the gradients. The namespaces are removed afterwards, also on failure.
# Needs root (ip netns); exits 77 (skipped) without it.
set -euo pipefail
repo=$(readlink -f "$1"); bin=$(readlink -f "$2"); data_tool=$(readlink -f "$3"); python=$4
if [ "$(id -u)" -ne 0 ] || ! ip netns list > /dev/null 2>&1; then
  echo "SKIP: network namespaces need root and iproute2"; exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/cyclegan_netns.XXXXXX)
ns1=cgnode1_$$ ns2=cgnode2_$$
addr1=10.231.0.1 addr2=10.231.0.2 subnet=10.231.0.0/24
cleanup() {
  for ns in "$ns1" "$ns2"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  pkill -9 -f "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }; done
  exit 1
}

# --- the two nodes. Deleting a namespace deletes its end of the veth pair, and with it both.
ip netns add "$ns1"
ip netns add "$ns2"
ip link add "cgv1_$$" type veth peer name "cgv2_$$"
ip link set "cgv1_$$" netns "$ns1"
ip link set "cgv2_$$" netns "$ns2"
ip -n "$ns1" addr add "$addr1/24" dev "cgv1_$$"
ip -n "$ns2" addr add "$addr2/24" dev "cgv2_$$"
for ns in "$ns1" "$ns2"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns1" link set "cgv1_$$" up
ip -n "$ns2" link set "cgv2_$$" up
printf '%s slots=1\n%s slots=1\n' "$addr1" "$addr2" > "$work/hosts"
export CYCLEGAN_NETNS_MAP="$addr1=$ns1 $addr2=$ns2"

"$data_tool" demo --output "$work/data" --sizes 32 --train-images 64 --test-images 8 > "$work/data.log" 2>&1 \
  || fail "cyclegan_data demo failed"
steps=4
train=(--data "$work/data/32x32" --batch-size 4 --steps "$steps" --checkpoint-every "$steps" --sample-every 0
       --log-every 1 --run-dir run)
ckpt=run/checkpoints/ckpt_0000000$steps.pt

# --- the reference: 2 ranks on one node (each run in its own folder, so that the run
# directories, which the checkpoint records, are spelled the same).
mkdir -p "$work/one" "$work/two"
(cd "$work/one" && timeout 300 mpirun --oversubscribe --bind-to none -np 2 "$bin" --threads 1 "${train[@]}") \
  > "$work/one_node.log" 2>&1 || fail "the one-node run failed"

# --- the same run on two nodes, through the wrapper users run.
rx_before=$(ip -n "$ns2" -s -j link show "cgv2_$$" | "$python" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])')
(cd "$work/two" && CYCLEGAN_BIN="$bin" METRICS_PORT=0 \
  MPIRUN_EXTRA="--mca plm_rsh_agent $repo/tests/launch/netns_agent.sh --mca btl tcp,self --mca btl_tcp_if_include $subnet --mca oob_tcp_if_include $subnet" \
  timeout 300 ip netns exec "$ns1" "$repo/launch/mpirun.sh" --hostfile "$work/hosts" --ranks-per-node 1 \
    --cores-per-rank 1 -- "${train[@]}") > "$work/two_nodes.log" 2>&1 || fail "the two-node run failed"
grep -q "2 rank(s)" "$work/two_nodes.log" || fail "the two-node run did not see 2 ranks"
grep -q "netns_agent: $addr2 -> $ns2" "$work/two_nodes.log" || fail "Open MPI did not start node 2 through the agent"
rx=$(( $(ip -n "$ns2" -s -j link show "cgv2_$$" | "$python" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])') - rx_before ))

# --- same weights, and the gradients crossed the veth pair.
"$python" - "$work/one/$ckpt" "$work/two/$ckpt" "$rx" "$steps" <<'PY' || fail "the two runs differ"
import sys
import torch
one, two = (torch.jit.load(p) for p in sys.argv[1:3])
rx, steps = int(sys.argv[3]), int(sys.argv[4])
def tensors(m):
    found = dict(m.named_parameters())
    found.update(m.named_buffers())
    return found
a, b = tensors(one), tensors(two)
assert a.keys() == b.keys(), f"different tensors: {sorted(a.keys() ^ b.keys())}"
differ = [k for k in a if not torch.equal(a[k], b[k])]
assert not differ, f"{len(differ)} of {len(a)} tensors differ, first {differ[:5]}"
grad_bytes = sum(p.numel() * p.element_size() for n, p in one.named_parameters() if n.startswith("model."))
print(f"{len(a)} tensors equal; node 2 received {rx / 1e6:.1f} MB over the veth, "
      f"gradients are {grad_bytes / 1e6:.1f} MB per step x {steps} steps")
assert rx >= steps * grad_bytes, "less traffic between the nodes than the gradients of every step"
PY
echo "two nodes over TCP between network namespaces: ok"
