# Parity — `make help` lists the targets. Quick start: `make up`, then `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TSX := node_modules/.bin/tsx
# Scripts that put things back on Ctrl-C run in one node process: the tsx CLI relays a signal to
# its child and SIGKILLs it if the child doesn't confirm within ~60 ms (late on a loaded machine),
# which would skip the rollback or the drill's undo.
NODE_TS := node --import tsx
VITEST := node_modules/.bin/vitest
RESULTS := .parity/test-results

# Ryuk's image can't be pulled on air-gapped hosts: the suites clean up after themselves.
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= localhost

.PHONY: help engine images lock typecheck lint supply-chain test test-unit test-integration bench-images clean-images

help: ## list the targets
	@echo "Parity: the BLKOUT platform's production architecture on one machine."
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: IMAGES=\"postgres redis\" (images), OFFLINE=1 (never pull), REBUILD=1 (build even if present)"

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

engine: node_modules ## make sure a Docker engine answers and `docker compose` v2 exists (installs/starts/builds them if not)
	@$(TSX) scripts/engine.ts

images: node_modules ## make every image available: local, else pull, else build here (IMAGES=..., OFFLINE=1, REBUILD=1)
	@$(TSX) scripts/images.ts $(IMAGES) $(if $(OFFLINE),--offline) $(if $(REBUILD),--rebuild)

lock: node_modules ## rewrite services/images/images.lock.json from the catalog
	@$(TSX) scripts/images.ts --write-lock

typecheck: node_modules ## type-check everything (tsc --noEmit)
	@node_modules/.bin/tsc --noEmit -p .

lint: node_modules ## lint (eslint; services/ must stay free of I/O)
	@node_modules/.bin/eslint .

supply-chain: node_modules ## npm audit, licences (no AGPL/SSPL/BUSL in images) and image labels vs the lock file, by supply-chain.policy.yaml (JSON=1)
	@$(TSX) scripts/supply-chain.ts $(if $(JSON),--json)

test-unit: node_modules ## unit tests (no docker)
	@mkdir -p $(RESULTS)
	@$(VITEST) run --project unit --reporter=default --reporter=json --outputFile.json=$(RESULTS)/unit.json

test-integration: node_modules engine images ## integration tests (real containers via testcontainers); SUITE=failover runs one suite; ends with each suite's wall time
	@mkdir -p $(RESULTS)
	@$(if $(SUITE),test -f tests/integration/$(SUITE).test.ts || { echo "SUITE=$(SUITE): there is no tests/integration/$(SUITE).test.ts; the suites: $$(cd tests/integration && ls *.test.ts | sed 's/\.test\.ts$$//' | tr '\n' ' ')" >&2; exit 2; })
	@$(VITEST) run --project integration $(if $(SUITE),tests/integration/$(SUITE).test.ts) --reporter=default --reporter=json --outputFile.json=$(RESULTS)/integration.json; status=$$?; \
	  $(TSX) scripts/test-summary.ts --suites $(RESULTS)/integration.json; exit $$status

test: node_modules engine images typecheck lint gen-check supply-chain test-unit test-integration ## everything: engine, images, type-check, lint, drift check, supply chain, unit and integration tests
	@$(TSX) scripts/test-summary.ts $(RESULTS)/unit.json $(RESULTS)/integration.json

bench-images: node_modules engine ## benchmark: cold bake per image, warm re-run, disk size (COLD=1 removes the catalog images first)
	@$(TSX) scripts/bench-images.ts $(if $(COLD),--cold)

clean-images: node_modules ## remove the images Parity built locally (label dev.parity.built-locally=true)
	@$(TSX) scripts/bench-images.ts --remove-only

.PHONY: gen gen-check compose-validator up down clean status logs seed backup backups audit dev dev-env dev-run example bench-dev contract cluster-up cluster-down cluster-status
# The generator runs from a cached esbuild bundle, rebuilt when any of its inputs changes
# (scripts/run-bundled.mjs): tsx would cost more than the whole run. --no-opt: a run is over
# before TurboFan's optimized code pays back its compile time (measured: ~80 ms less CPU).
GEN := node --no-opt scripts/run-bundled.mjs scripts/gen.ts

gen: node_modules ## render compose/ from parity.yaml and the model (the only writer of compose/)
	@$(GEN) $(if $(CONFIG),--config $(CONFIG))

gen-check: node_modules ## fail if compose/ differs from what `make gen` would write (CI drift check)
	@$(GEN) --check $(if $(CONFIG),--config $(CONFIG))

compose-validator: node_modules ## rewrite services/render/compose-spec.validate.cjs from compose-spec.json (after changing the schema or ajv)
	@$(TSX) scripts/compose-validator.ts

up: node_modules ## the whole stack, healthy, with a status table (engine, images, gen, secrets, TLS, compose up, wait)
	@$(TSX) scripts/stack.ts up $(if $(TIMEOUT),--timeout $(TIMEOUT))

down: node_modules ## stop the stack: no containers or networks left (volumes kept)
	@$(TSX) scripts/stack.ts down

clean: node_modules ## down + volumes + generated state (secrets, CA, dynamic config); asks on a terminal (FORCE=1 does not)
	@$(TSX) scripts/stack.ts clean $(if $(filter 1,$(FORCE)),--force)

seed: node_modules ## load the demo data set through the platform's APIs (idempotent; make up does it on an empty platform)
	@$(TSX) scripts/seed.ts

backup: node_modules ## a pgBackRest backup now, on the Patroni leader (TYPE=full|diff|incr; default diff once a full exists, else full; waits up to WAIT=900 s for a backup already running)
	@$(TSX) scripts/backup.ts backup $(if $(TYPE),--type "$(TYPE)") $(if $(WAIT),--wait-timeout "$(WAIT)")

backups: node_modules ## the backup repository: sets, ages, sizes, WAL archive range (FORMAT=json for machines)
	@$(TSX) scripts/backup.ts list $(if $(FORMAT),--format "$(FORMAT)")

dev: node_modules ## your source in a stub's place with live sync: make up, then docker compose watch on both colors (SERVICE=events; needs services.<name>.source: build)
	@$(TSX) scripts/dev.ts $(if $(SERVICE),--service "$(SERVICE)")

bench-dev: node_modules ## benchmark: edit → new code answering through the edge, sync+restart and rebuild, median and worst (its own stack; EDITS=10)
	@$(TSX) scripts/bench-dev.ts $(if $(EDITS),--edits $(EDITS))

contract: node_modules ## the platform contract against a candidate on an isolated copy of its dependencies: SERVICE=events [IMAGE=ref] [FORMAT=json] (exit 1 when a clause fails)
	@$(TSX) scripts/contract.ts $(if $(SERVICE),--service "$(SERVICE)") $(if $(IMAGE),--image "$(IMAGE)") $(if $(FORMAT),--format "$(FORMAT)")

example: node_modules ## build an example service's image (code that is not a stub) for image mode: EXAMPLE=events-python → parity-example/events-python:dev (docs/own-services.md)
	@$(TSX) scripts/example.ts $(if $(EXAMPLE),--name "$(EXAMPLE)")

# make dev-run SERVICE=events -- npm run dev: the words after dev-run are the command (the end of
# this file turns them into targets that do nothing).
ifeq (dev-run,$(firstword $(MAKECMDGOALS)))
  DEV_RUN_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
endif

dev-run: node_modules ## run a command on this host with a service's environment: make dev-run SERVICE=events -- npm run dev (or CMD='…')
	@$(TSX) scripts/dev-run.ts $(if $(SERVICE),--service "$(SERVICE)") -- $(if $(CMD),$(CMD),$(DEV_RUN_ARGS))

dev-env: node_modules ## a service's environment for a process on this host: .parity/dev/<service>.env, 0600 (SERVICE=events, FORMAT=dotenv|sh|json)
	@$(TSX) scripts/dev-env.ts $(if $(SERVICE),--service "$(SERVICE)") $(if $(FORMAT),--format "$(FORMAT)")

audit: node_modules ## the audit log, newest entries: logins, role changes, admin actions, deploys (LIMIT=50, SERVICE=, ACTION=prefix, SINCE=1h|ISO, FORMAT=json)
	@$(TSX) scripts/audit.ts $(if $(LIMIT),--limit "$(LIMIT)") $(if $(SERVICE),--service "$(SERVICE)") $(if $(ACTION),--action "$(ACTION)") $(if $(SINCE),--since "$(SINCE)") $(if $(FORMAT),--format "$(FORMAT)")

cluster-up: node_modules ## the stack on a local Swarm of NODES docker-in-docker nodes (default 3, one per zone) with the front on the host
	@$(NODE_TS) scripts/cluster.ts up $(if $(NODES),--nodes $(NODES)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

cluster-down: node_modules ## remove the cluster: front, nodes with their volumes, network, state
	@$(TSX) scripts/cluster.ts down

cluster-status: node_modules ## the cluster's nodes and zones, each service's replicas and where its tasks run
	@$(TSX) scripts/cluster.ts status

status: node_modules ## the status table (FORMAT=json for machines)
	@$(TSX) scripts/stack.ts status $(if $(FORMAT),--format $(FORMAT))

logs: node_modules ## follow the stack's logs (SERVICE=ivor-blue for one)
	@$(TSX) scripts/stack.ts logs $(SERVICE)

.PHONY: bench-stack
bench-stack: node_modules engine images ## benchmark: make gen time, make up warm, stack memory (minimal and full profiles)
	@$(TSX) scripts/bench-stack.ts

# make ends with 2 for any failed recipe, which would hide the script's own code (1 = rolled
# back or failed, 2 = bad input, nothing changed): say it on stderr. CI that branches on the
# code runs the script directly: node --import tsx scripts/deploy.ts deploy --version V (see docs/deploys.md).
define with_exit_code
code=0; $(1) || code=$$?; \
if [ $$code -ne 0 ]; then echo "make $@: scripts/deploy.ts exited $$code ($$([ $$code -eq 2 ] && echo 'bad input, nothing changed' || echo 'rolled back or failed')); make itself reports 2 for any failure, so for this code run: node --import tsx scripts/deploy.ts $@ …" >&2; fi; \
exit $$code
endef

.PHONY: deploy
deploy: node_modules ## blue/green deploy of the platform services: VERSION=x [FAULT=error=20%] [IMAGE=ref]; one service's image: SERVICES=events IMAGE=ref, or IMAGES=ivor=ref,events=ref
	@$(call with_exit_code,$(NODE_TS) scripts/deploy.ts deploy --version "$(VERSION)" $(if $(FAULT),--fault "$(FAULT)") $(if $(IMAGE),--image "$(IMAGE)") $(if $(SERVICES),--services "$(SERVICES)") $(if $(IMAGES),--images "$(IMAGES)"))

.PHONY: rollback
rollback: node_modules ## all traffic back to the previous color at once
	@$(call with_exit_code,$(NODE_TS) scripts/deploy.ts rollback)

.PHONY: bench-deploy
bench-deploy: node_modules ## benchmark: deploy, rollback and a bad deploy under 200 req/s (needs make up; STEP=seconds)
	@$(if $(STARTING_SHARES),PARITY_STARTING_CPU_SHARES=$(STARTING_SHARES)) $(TSX) scripts/bench-deploy.ts $(if $(STEP),--step-seconds $(STEP))

.PHONY: bench-stubs
bench-stubs: node_modules ## benchmark: req/s and p95 of GET /api/events and POST /api/chat through Traefik, stub memory (needs make up; DURATION=30)
	@$(TSX) scripts/bench-stubs.ts $(if $(DURATION),--duration $(DURATION))

.PHONY: regions dr-link failback
regions: node_modules ## with dr.enabled: which region serves, both Patroni clusters, the link's paths
	@$(TSX) scripts/region.ts status

dr-link: node_modules ## cut or open the link between the regions (STATE=cut|mend)
	@$(TSX) scripts/region.ts $(if $(filter cut mend,$(STATE)),$(STATE),$(error STATE=cut or STATE=mend))

failback: node_modules ## while DR serves: rebuild the primary from DR and move users back (never two writable regions)
	@$(NODE_TS) scripts/region.ts failback

.PHONY: drill-region
drill-region: node_modules ## lose the whole primary region under load: DR promoted, the edge repointed, then fail back (dr.enabled)
	@$(NODE_TS) scripts/drill.ts region

.PHONY: drill-node
drill-node: node_modules ## lose or drain a cluster node under users' load (SCENARIO=drain-node|lose-node|lose-zone, all without; NODE=zone-c); needs make cluster-up
	@$(NODE_TS) scripts/drill.ts node $(if $(SCENARIO),--scenario "$(SCENARIO)") $(if $(NODE),--node "$(NODE)")

.PHONY: drill-restore
drill-restore: node_modules ## restore the backups into an isolated cluster and verify it (TARGET=mid|latest|<set label>|<ISO time>; mid without)
	@$(NODE_TS) scripts/drill.ts restore $(if $(TARGET),--target "$(TARGET)")

.PHONY: bench-dr
bench-dr: node_modules engine images ## benchmark: 1 GB backup and restore, PITR RPO, storage per day, region drill RTO per phase (own two-region stack; SCALE=pgbench scale)
	@$(NODE_TS) scripts/bench-dr.ts $(if $(SCALE),--scale $(SCALE))

.PHONY: drill-failover bench-failover
drill-failover: node_modules ## failover drill on the running stack (SCENARIO=kill-primary|stop-primary|partition-primary|kill-replica|lose-etcd-member|switchover; all without)
	@$(NODE_TS) scripts/drill.ts failover $(if $(SCENARIO),--scenario "$(SCENARIO)")

bench-failover: node_modules engine images ## benchmark: kill-primary RTO over KILLS=10 kills, tuned vs Patroni's defaults, jitter, switchover, loss, memory
	@$(NODE_TS) scripts/bench-failover.ts $(if $(KILLS),--kills $(KILLS))

.PHONY: rotate-secrets
rotate-secrets: node_modules ## new signing key, Redis and dashboard passwords on the running stack without downtime (ONLY=redis,dashboard; FORMAT=json)
	@$(NODE_TS) scripts/rotate-secrets.ts $(if $(ONLY),--only "$(ONLY)") $(if $(FORMAT),--format "$(FORMAT)")

.PHONY: bench-edge
bench-edge: node_modules ## benchmark: p95 the edge's security middlewares add at 200 req/s, and the users' path through the front (needs make up; RATE, DURATION)
	@$(NODE_TS) scripts/bench-edge.ts $(if $(RATE),--rate $(RATE)) $(if $(DURATION),--seconds $(DURATION))

.PHONY: bench-users
bench-users: node_modules ## benchmark: users through the front at growing rates (keep-alive and fresh TLS, 250 addresses): answers, p95, peak memory of every container on the path vs its limit, restarts/OOM (needs make up; RATES, DURATION, ADDRESSES, MODE, PATHS)
	@$(NODE_TS) scripts/bench-users.ts $(if $(RATES),--rates $(RATES)) $(if $(DURATION),--seconds $(DURATION)) $(if $(ADDRESSES),--addresses $(ADDRESSES)) $(if $(MODE),--mode $(MODE)) $(if $(PATHS),--paths $(PATHS))

.PHONY: chaos chaos-reset chaos-list bench-chaos
chaos: node_modules ## chaos drill on the running stack: a declared Toxiproxy fault under load (SCENARIO=name; all without; make chaos-list; LOAD=N other users' GET/s)
	@$(NODE_TS) scripts/chaos.ts run $(if $(SCENARIO),--scenario "$(SCENARIO)") $(if $(LOAD),--load "$(LOAD)")

chaos-reset: node_modules ## remove every Toxiproxy toxic and enable every proxy
	@$(TSX) scripts/chaos.ts reset

chaos-list: node_modules ## the declared chaos scenarios
	@$(TSX) scripts/chaos.ts list

bench-chaos: node_modules ## benchmark: Toxiproxy's added latency per hop and memory, then every chaos scenario's figures idle and under load (needs make up; SCENARIO=name, LOAD=50 other users' GET/s, 0 = idle only)
	@$(NODE_TS) scripts/bench-chaos.ts $(if $(SCENARIO),--scenario "$(SCENARIO)") $(if $(LOAD),--load "$(LOAD)")

# Last, so that a command word named like a target (`make dev-run … -- make dev`) does nothing here.
ifneq ($(DEV_RUN_ARGS),)
$(eval $(DEV_RUN_ARGS):;@:)
endif
