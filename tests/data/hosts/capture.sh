#!/bin/bash
# Runs inside a test instance: a few multi-node jobs, each saved as a case.
set -e
OUT=${OUT:-$PWD/data}
mkdir -p $OUT
run_case() {
  name=$1; shift
  id=$(flux submit "$@")
  flux job hostpids -t 60 $id > $OUT/$name.hostpids || true
  flux job wait-event -t 60 $id clean
  d=$OUT/$name; mkdir -p $d
  flux job eventlog -f json $id > $d/eventlog 2>/dev/null || flux job eventlog $id > $d/eventlog
  flux kvs get --raw $(flux job id --to=kvs $id).eventlog > $d/eventlog
  flux kvs get --raw $(flux job id --to=kvs $id).guest.exec.eventlog > $d/exec.eventlog
  flux kvs get --raw $(flux job id --to=kvs $id).guest.output > $d/output.eventlog
  flux job info $id R > $d/R
  true
  flux jobs -no {nodelist} $id > $d/nodelist
  flux job attach -l $id > $d/attach-label.stdout 2> $d/attach-label.stderr || true
  echo $id > $d/jobid; mv $OUT/$name.hostpids $d/hostpids
}
run_case n4-t8 -N4 -n8 sh -c 'echo "task $FLUX_TASK_RANK on $(flux getattr hostname) says hi"; echo same line; sleep 1'
run_case n2-t3 -N2 -n3 sh -c 'echo "task $FLUX_TASK_RANK on $(flux getattr hostname)"; echo err $FLUX_TASK_RANK >&2; sleep 1'
run_case cyclic -N4 -n8 --taskmap=cyclic sh -c 'echo "task $FLUX_TASK_RANK on $(flux getattr hostname)"; sleep 1'
run_case n3-t5 -N3 -n5 sh -c 'echo "rank $FLUX_TASK_RANK on $(flux getattr hostname)"; sleep 1'
flux resource list > $OUT/resource-list
run_case split-nodes -N2 -n4 --requires=host:node[2,4] sh -c 'echo "task $FLUX_TASK_RANK on $(flux getattr hostname)"; sleep 1'
run_case many-lines -N2 -n4 sh -c 'h=$(flux getattr hostname); for i in $(seq 500); do echo "task $FLUX_TASK_RANK on $h line $i"; done; sleep 1'
