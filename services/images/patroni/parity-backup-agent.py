#!/usr/bin/env python3
"""Parity's backup agent: one per Patroni node, started by the entrypoint beside Patroni.

On the node that leads (Patroni's REST `/primary` answers 200 on that node alone) it
  * makes sure the pgBackRest stanza exists (`stanza-create` is idempotent),
  * takes the scheduled backups: a full one when the last full is older than
    PARITY_BACKUP_FULL_SECONDS (or there is none), else a differential one when the last
    backup of any type is older than PARITY_BACKUP_DIFF_SECONDS; pgBackRest expires old ones
    by its retention settings after each backup,
  * copies the file buckets (PARITY_FILES_BUCKETS) into the backup bucket with rclone every
    PARITY_FILES_SECONDS (server-side copies; the files RPO).
On every node it serves Prometheus metrics on PARITY_BACKUP_METRICS_PORT: the repository's
figures from `pgbackrest info --output=json` (the same source pgbackrest_exporter reads; that
exporter is not available to this build) and, on the leader, WAL archiving from
pg_stat_archiver and the archive_status directory.

Only the Python standard library; one log line per decision, on stdout.
"""
import json
import os
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENV = os.environ
FULL_SECONDS = int(ENV.get("PARITY_BACKUP_FULL_SECONDS", "86400"))
DIFF_SECONDS = int(ENV.get("PARITY_BACKUP_DIFF_SECONDS", "3600"))
CHECK_SECONDS = float(ENV.get("PARITY_BACKUP_CHECK_SECONDS", "10"))
FILES_SECONDS = int(ENV.get("PARITY_FILES_SECONDS", "60"))
FILES_BUCKETS = [b for b in ENV.get("PARITY_FILES_BUCKETS", "").split(",") if b]
FILES_TARGET = ENV.get("PARITY_FILES_TARGET", "backups/files")
# Another S3 store to copy into (a DR region's, through the link); empty: the same store.
FILES_TARGET_ENDPOINT = ENV.get("PARITY_FILES_TARGET_ENDPOINT", "")
PORT = int(ENV.get("PARITY_BACKUP_METRICS_PORT", "9854"))
PATRONI = ENV.get("PARITY_PATRONI_URL", "http://127.0.0.1:8008")
PG_DATA = ENV.get("PARITY_PG_DATA", "/var/lib/postgresql/data/pgdata")
PG_USER = ENV.get("PARITY_PG_USER", "postgres")
S3_ENDPOINT = ENV.get("PARITY_S3_ENDPOINT", "")
SECRETS = ENV.get("PARITY_SECRETS_DIR", "/run/secrets")
NODE = ENV.get("PATRONI_NAME", os.uname().nodename)

state_lock = threading.Lock()
state = {
    "leader": 0,
    "info_ok": 0,
    "info_at": 0.0,
    "backups": [],
    "archive": None,
    "pending": (0, 0.0),
    "backup_failures": 0,
    "files_last_success": {},
    "files_failures": 0,
    "last_files_copy": 0.0,
}


def log(message):
    print(f"backup-agent {NODE}: {message}", flush=True)


def is_leader():
    try:
        with urllib.request.urlopen(f"{PATRONI}/primary", timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def pgbackrest(*args, timeout=None):
    return subprocess.run(["pgbackrest", *args], capture_output=True, text=True, timeout=timeout)


def read_info():
    """The stanza's backups, oldest first: [{label, type, start, stop, size, repo}]."""
    result = pgbackrest("info", "--output=json", timeout=60)
    if result.returncode != 0:
        raise RuntimeError((result.stderr or result.stdout).strip().splitlines()[-1:] or ["pgbackrest info failed"])
    stanzas = json.loads(result.stdout or "[]")
    backups = []
    for stanza in stanzas:
        for backup in stanza.get("backup", []):
            backups.append({
                "label": backup["label"],
                "type": backup["type"],
                "start": backup["timestamp"]["start"],
                "stop": backup["timestamp"]["stop"],
                "size": backup["info"]["size"],
                "repo": backup["info"]["repository"].get("delta", 0),
            })
    return backups


def archive_status():
    """pg_stat_archiver on this node (the leader), or None."""
    query = ("SELECT coalesce(extract(epoch FROM last_archived_time), 0), archived_count, failed_count, "
             "coalesce(extract(epoch FROM last_failed_time), 0) FROM pg_stat_archiver")
    result = subprocess.run(["psql", "-h", "/var/run/postgresql", "-U", PG_USER, "-d", "postgres", "-XAtF", " ", "-c", query],
                            capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        return None
    last, archived, failed, last_failed = result.stdout.split()
    return {"last": float(last), "archived": int(archived), "failed": int(failed), "last_failed": float(last_failed)}


def pending_wal():
    """WAL segments waiting to be archived (.ready files) and the age of the oldest."""
    directory = os.path.join(PG_DATA, "pg_wal", "archive_status")
    try:
        ready = [os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".ready")]
    except OSError:
        return (0, 0.0)
    if not ready:
        return (0, 0.0)
    oldest = min(os.stat(path).st_mtime for path in ready)
    return (len(ready), max(0.0, time.time() - oldest))


def run_logged(args, what):
    started = time.time()
    result = subprocess.run(args, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip().splitlines()
    for line in output[-5:]:
        log(f"  {what}: {line}")
    log(f"{what}: {'done' if result.returncode == 0 else f'FAILED (exit {result.returncode})'} in {time.time() - started:.1f}s")
    return result.returncode == 0


def scheduled_backup(backups):
    now = time.time()
    fulls = [b for b in backups if b["type"] == "full"]
    if not fulls:
        return "full", "no full backup in the repository"
    if now - fulls[-1]["stop"] >= FULL_SECONDS:
        return "full", f"last full backup is {now - fulls[-1]['stop']:.0f}s old (schedule {FULL_SECONDS}s)"
    if now - backups[-1]["stop"] >= DIFF_SECONDS:
        return "diff", f"last backup is {now - backups[-1]['stop']:.0f}s old (schedule {DIFF_SECONDS}s)"
    return None, ""


def rclone_env():
    env = dict(ENV)
    def secret(name):
        with open(os.path.join(SECRETS, name)) as handle:
            return handle.read().strip()
    for remote, endpoint in (("REPO", S3_ENDPOINT), ("TARGET", FILES_TARGET_ENDPOINT or S3_ENDPOINT)):
        env.update({
            f"RCLONE_CONFIG_{remote}_TYPE": "s3",
            f"RCLONE_CONFIG_{remote}_PROVIDER": "Other",
            f"RCLONE_CONFIG_{remote}_ENDPOINT": endpoint,
            f"RCLONE_CONFIG_{remote}_ACCESS_KEY_ID": secret("s3_access_key"),
            f"RCLONE_CONFIG_{remote}_SECRET_ACCESS_KEY": secret("s3_secret_key"),
            f"RCLONE_CONFIG_{remote}_REGION": "us-east-1",
        })
    env.update({"RCLONE_CA_CERT": os.path.join(SECRETS, "ca_cert"), "RCLONE_CONFIG": "/dev/null"})
    return env


def pull_files(env):
    """A node that has just become the writer, copying into another region's buckets of the same
    names: first take back what only that side has (files users uploaded while it served, before a
    failback), without deleting anything, so the sync below doesn't delete them there."""
    for bucket in FILES_BUCKETS:
        result = subprocess.run(["rclone", "copy", f"target:{bucket}", f"repo:{bucket}", "--s3-no-check-bucket", "--retries", "1", "--stats-one-line", "--stats", "1h", "-v"],
                                capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"pulling {bucket} back from the other region: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")
        copied = [line for line in result.stderr.splitlines() if ": Copied (new)" in line]
        log(f"files pull {bucket}: {len(copied)} copied back from the other region")


def copy_files(pull_first=False):
    env = rclone_env()
    if pull_first and FILES_TARGET == "" and FILES_TARGET_ENDPOINT:
        pull_files(env)
    for bucket in FILES_BUCKETS:
        started = time.time()
        destination = f"target:{FILES_TARGET}/{bucket}" if FILES_TARGET else f"target:{bucket}"
        result = subprocess.run(["rclone", "sync", f"repo:{bucket}", destination, "--s3-no-check-bucket", "--retries", "1", "--stats", "0"],
                                capture_output=True, text=True, env=env, timeout=600)
        with state_lock:
            if result.returncode == 0:
                state["files_last_success"][bucket] = started
            else:
                state["files_failures"] += 1
                log(f"files copy {bucket}: FAILED: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")


def refresh_metrics(leader):
    try:
        backups = read_info()
        with state_lock:
            state.update(info_ok=1, backups=backups, info_at=time.time())
    except Exception as error:  # the repository unreachable: say so in the metrics
        with state_lock:
            state["info_ok"] = 0
        log(f"pgbackrest info: {error}")
        backups = None
    with state_lock:
        state["leader"] = 1 if leader else 0
        state["archive"] = archive_status() if leader else None
        state["pending"] = pending_wal() if leader else (0, 0.0)
    return backups


def loop():
    stanza_ready = False
    # Files are pulled back once each time this node becomes the writer (at start, or promoted).
    pulled = False
    while True:
        leader = is_leader()
        backups = refresh_metrics(leader)
        if not leader:
            stanza_ready = False
            pulled = False
        else:
            if not stanza_ready:
                stanza_ready = run_logged(["pgbackrest", "stanza-create", "--log-level-console=info"], "stanza-create")
                backups = refresh_metrics(leader) if stanza_ready else None
            if stanza_ready and backups is not None:
                kind, why = scheduled_backup(backups)
                if kind:
                    log(f"scheduled {kind} backup: {why}")
                    if not run_logged(["pgbackrest", "backup", f"--type={kind}", "--log-level-console=info"], f"{kind} backup"):
                        with state_lock:
                            state["backup_failures"] += 1
                    refresh_metrics(is_leader())
            if FILES_BUCKETS and time.time() - state["last_files_copy"] >= FILES_SECONDS:
                state["last_files_copy"] = time.time()
                try:
                    copy_files(pull_first=not pulled)
                    pulled = True
                except Exception as error:
                    with state_lock:
                        state["files_failures"] += 1
                    log(f"files copy: {error}")
        time.sleep(CHECK_SECONDS)


def metrics_text():
    with state_lock:
        s = json.loads(json.dumps(state))
    lines = []
    def metric(name, kind, help_text, samples):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")
    metric("parity_backup_agent_leader", "gauge", "1 on the node that leads (and takes the backups)", [({}, s["leader"])])
    metric("pgbackrest_info_up", "gauge", "1 when pgbackrest info read the repository", [({}, s["info_ok"])])
    backups = s["backups"]
    by_type = {}
    for backup in backups:
        by_type[backup["type"]] = backup
    metric("pgbackrest_backup_count", "gauge", "Backups in the repository, by type",
           [({"type": t}, sum(1 for b in backups if b["type"] == t)) for t in ("full", "diff", "incr")])
    metric("pgbackrest_backup_last_completion_timestamp_seconds", "gauge", "When the newest backup of each type finished",
           [({"type": t}, b["stop"]) for t, b in by_type.items()])
    metric("pgbackrest_backup_last_duration_seconds", "gauge", "How long the newest backup of each type took",
           [({"type": t}, b["stop"] - b["start"]) for t, b in by_type.items()])
    metric("pgbackrest_backup_last_database_bytes", "gauge", "Database size in the newest backup of each type",
           [({"type": t}, b["size"]) for t, b in by_type.items()])
    metric("pgbackrest_repo_backup_bytes", "gauge", "Repository bytes of the backups kept (compressed, encrypted; WAL not included)",
           [({}, sum(b["repo"] for b in backups))])
    if s["archive"]:
        a = s["archive"]
        metric("pgbackrest_wal_last_archived_timestamp_seconds", "gauge", "When the leader last archived a WAL segment (0: never)", [({}, a["last"])])
        metric("pgbackrest_wal_archived_total", "counter", "WAL segments the leader archived since its start", [({}, a["archived"])])
        metric("pgbackrest_wal_archive_failed_total", "counter", "archive_command failures on the leader since its start", [({}, a["failed"])])
    pending, oldest = s["pending"]
    metric("pgbackrest_wal_pending_segments", "gauge", "WAL segments waiting to be archived on this node", [({}, pending)])
    metric("pgbackrest_wal_oldest_pending_seconds", "gauge", "Age of the oldest WAL segment waiting to be archived (0: none waits)", [({}, round(oldest, 1))])
    metric("pgbackrest_scheduled_backup_failures_total", "counter", "Scheduled backups that failed on this node", [({}, s["backup_failures"])])
    metric("parity_files_copy_last_success_timestamp_seconds", "gauge", "Start of the last complete copy of each file bucket into the backup bucket",
           [({"bucket": b}, t) for b, t in s["files_last_success"].items()])
    metric("parity_files_copy_failures_total", "counter", "File bucket copies that failed on this node", [({}, s["files_failures"])])
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] not in ("/metrics", "/"):
            self.send_response(404)
            self.end_headers()
            return
        body = metrics_text().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    log(f"full every {FULL_SECONDS}s, diff every {DIFF_SECONDS}s, files {','.join(FILES_BUCKETS) or 'none'} every {FILES_SECONDS}s; metrics on :{PORT}")
    threading.Thread(target=ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever, daemon=True).start()
    try:
        loop()
    except KeyboardInterrupt:
        pass
