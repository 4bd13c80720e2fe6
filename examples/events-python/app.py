"""An Events API written as a team would, not as a Parity stub: Python's standard library,
psycopg2 and PyJWT (Debian's packages), nothing else. It keeps the conventions the stack relies
on (docs/own-services.md):

- liveness (/health/live) that never touches a data store, readiness (/health) answering
  `{"status": "pass" | "fail", "checks": {…}}` and naming the dependency that fails (writer, reader);
- the X-Parity-Service/-Color/-Version headers, X-Parity-Read-From on reads;
- Prometheus metrics the deploy gate and drain read (http_requests_total{status},
  http_request_duration_seconds, http_requests_in_flight);
- its own role (no superuser), idempotent migrations under an advisory lock, recorded in
  parity_migrations beside the stub's, so stub and example share one schema;
- writes only with a token it verifies itself (EdDSA, the platform's public keys, issuer and
  audience, expiry), with the role the route table asks for: the edge's forwardAuth checked it
  too, but anything on the apps network reaches this port directly; the key file is read again
  when a token names a kid it doesn't know, so a key rotation needs no restart;
- the password read from its file at each new connection, so a rotation reaches it;
- SIGTERM drains the requests in flight, then exits.

Settings come from the environment the stack gives a service: DATABASE_URL, READER_URL and
DB_PASSWORD_FILE when parity.yaml's envMap composes them, else the standard DATABASE_* variables.
"""
import json
import os
import queue
import signal
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2

# What `make bench-dev` edits to time a change reaching users: it answers as X-Example-Mark, and the
# build's stamp (build.txt, baked into the image: a rebuild changes it) as X-Example-Build.
MARK = "v0"
# The broken variant (make example EXAMPLE=events-python-broken) breaks four clauses of the
# platform contract on purpose: no metrics, a liveness path that needs the database, an exit on
# SIGTERM that drops the requests in flight, and trust in identity headers without a token.
# `make contract` must name all four.
BROKEN = set(filter(None, os.environ.get("EXAMPLE_BROKEN", "").split(",")))
PORT = int(os.environ.get("PORT", "8080"))
SERVICE = "events"
COLOR = os.environ.get("COLOR", "")
VERSION = os.environ.get("VERSION", "dev")
E = os.environ
# Its own names (composed by the stack from parity.yaml's envMap), else the platform's standard
# variables, which every service gets: deployed in a stub's place without an envMap, it still runs.
WRITER_URL = E.get("DATABASE_URL") or f"postgresql://{E['DATABASE_USER']}@{E['DATABASE_HOST']}:{E.get('DATABASE_PORT', '5432')}/{E['DATABASE_NAME']}"
READER_URL = E.get("READER_URL") or (
    f"postgresql://{E['DATABASE_USER']}@{E['DATABASE_REPLICA_HOST']}:{E.get('DATABASE_REPLICA_PORT', E.get('DATABASE_PORT', '5432'))}/{E['DATABASE_NAME']}"
    if E.get("DATABASE_REPLICA_HOST") else WRITER_URL)
PASSWORD_FILE = E.get("DB_PASSWORD_FILE") or E["DATABASE_PASSWORD_FILE"]
# The same migration as the stub's Events service (stubs/src/services/events.ts): one schema for both.
MIGRATION_ID, MIGRATION_NAME = 1, "events-and-rsvps"
MIGRATION_LOCK_KEY = 0x70617269  # services/contracts/migrations.ts (MIGRATION_LOCK_KEY)
MIGRATION_SQL = """
  CREATE TABLE IF NOT EXISTS events.events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text NOT NULL, description text NOT NULL DEFAULT '',
    starts_at timestamptz NOT NULL, ends_at timestamptz, location text NOT NULL DEFAULT '',
    image_type text, created_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), CHECK (ends_at IS NULL OR ends_at >= starts_at));
  CREATE INDEX IF NOT EXISTS events_by_start ON events.events (starts_at);
  CREATE TABLE IF NOT EXISTS events.rsvps (
    event_id uuid NOT NULL REFERENCES events.events(id) ON DELETE CASCADE, user_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('going', 'interested', 'not-going')),
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (event_id, user_id));
"""
SELECT_EVENTS = """
  SELECT e.id, e.title, e.description, e.starts_at, e.ends_at, e.location, e.image_type IS NOT NULL,
         (SELECT count(*) FROM events.rsvps r WHERE r.event_id = e.id AND r.status = 'going')::int
    FROM events.events e ORDER BY e.starts_at, e.id LIMIT %s"""
try:
    with open("/app/build.txt", encoding="utf-8") as stamp:
        BUILD = stamp.read().strip()
except OSError:
    BUILD = "none"
# The platform's tokens (docs/own-services.md, the contract's tokens-verified clause): signed by auth
# with an Ed25519 key named by its kid; the public keys are a JWK set in this file.
KEYS_FILE = E.get("JWT_PUBLIC_KEYS_FILE", "")
TOKEN_ISSUER, TOKEN_AUDIENCE = "parity-auth", "parity-platform"
ROLES = ("member", "editor", "admin")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def connect(url):
    with open(PASSWORD_FILE, encoding="utf-8") as handle:
        password = handle.read().strip()
    return psycopg2.connect(url, password=password, connect_timeout=2, application_name=f"events-python-{COLOR}")


class Pool:
    """A few connections per endpoint; a broken one is dropped, a new one reads the password again."""

    def __init__(self, url, size=8):
        self.url, self.idle = url, queue.LifoQueue(size)

    def run(self, work, timeout_ms):
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = connect(self.url)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET statement_timeout = %s", (timeout_ms,))
                result = work(cursor)
            conn.commit()
        except Exception:
            conn.close()
            raise
        try:
            self.idle.put_nowait(conn)
        except queue.Full:
            conn.close()
        return result


writer, reader = Pool(WRITER_URL), Pool(READER_URL)


def jwt_module():
    """PyJWT, imported at the first token rather than at start: its import (with cryptography) costs
    ~60 ms, which every restart (make dev's sync+restart) would pay before answering."""
    import jwt
    return jwt


class Keys:
    """The public keys by kid. A token naming an unknown kid reads the file again at once when it
    changed (a rotation: its first token must not be refused), else at most once a second."""

    def __init__(self, path):
        self.path, self.by_kid, self.read_at, self.stamp, self.lock = path, {}, 0.0, None, threading.Lock()

    def file_stamp(self):
        try:
            stat = os.stat(self.path)
            return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            return None

    def find(self, kid):
        jwt = jwt_module()
        with self.lock:
            if kid not in self.by_kid and (time.monotonic() - self.read_at > 1 or self.file_stamp() != self.stamp):
                self.read_at, self.stamp = time.monotonic(), self.file_stamp()
                try:
                    with open(self.path, encoding="utf-8") as handle:
                        self.by_kid = {key.key_id: key for key in jwt.PyJWKSet.from_json(handle.read()).keys}
                except (OSError, jwt.PyJWTError) as error:
                    print(f"keys: {self.path}: {error}", flush=True)
            return self.by_kid.get(kid)


keys = Keys(KEYS_FILE)


def verified_user(authorization):
    """(user id, role) from a valid bearer token, else None: EdDSA only, a known kid, our issuer and audience, not expired."""
    if not authorization.startswith("Bearer "):
        return None
    token = authorization[7:]
    jwt = jwt_module()
    try:
        key = keys.find(jwt.get_unverified_header(token).get("kid"))
        if key is None:
            return None
        claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=TOKEN_AUDIENCE, issuer=TOKEN_ISSUER, options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    return (claims.get("email") or claims["sub"], claims.get("role")) if claims.get("role") in ROLES else None


class Metrics:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}
        self.durations = {}
        self.in_flight = 0

    def observe(self, method, route, status, seconds):
        with self.lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            counts, total = self.durations.get(key, ([0] * len(BUCKETS), 0.0))
            self.durations[key] = ([c + (1 if seconds <= b else 0) for c, b in zip(counts, BUCKETS)], total + seconds)

    def text(self):
        labels = lambda key: f'method="{key[0]}",route="{key[1]}",status="{key[2]}"'
        with self.lock:
            lines = ["# TYPE http_requests_total counter"]
            lines += [f"http_requests_total{{{labels(k)}}} {v}" for k, v in self.requests.items()]
            lines.append("# TYPE http_request_duration_seconds histogram")
            for key, (counts, total) in self.durations.items():
                lines += [f'http_request_duration_seconds_bucket{{{labels(key)},le="{b}"}} {c}' for c, b in zip(counts, BUCKETS)]
                lines.append(f'http_request_duration_seconds_bucket{{{labels(key)},le="+Inf"}} {self.requests[key]}')
                lines.append(f"http_request_duration_seconds_sum{{{labels(key)}}} {total}")
                lines.append(f"http_request_duration_seconds_count{{{labels(key)}}} {self.requests[key]}")
            lines += ["# TYPE http_requests_in_flight gauge", f"http_requests_in_flight {self.in_flight}"]
        return "\n".join(lines) + "\n"


metrics = Metrics()


def migrate():
    def work(cursor):
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        cursor.execute("SELECT 1 FROM parity_migrations WHERE service = %s AND id = %s", (SERVICE, MIGRATION_ID))
        if cursor.fetchone():
            return "already applied"
        cursor.execute(MIGRATION_SQL)
        cursor.execute("INSERT INTO parity_migrations (service, id, name) VALUES (%s, %s, %s)", (SERVICE, MIGRATION_ID, MIGRATION_NAME))
        return "applied"

    for attempt in range(60):
        try:
            return writer.run(work, 10_000)
        except psycopg2.Error as error:
            print(f"migration: the writer is not ready ({str(error).strip()}); retrying", flush=True)
            time.sleep(1)
    sys.exit("migration: the writer stayed unreachable for 60 s")


def as_record(row):
    iso = lambda value: value.isoformat().replace("+00:00", "Z") if value else None
    return {"id": str(row[0]), "title": row[1], "description": row[2], "startsAt": iso(row[3]), "endsAt": iso(row[4]),
            "location": row[5], "hasImage": row[6], "rsvps": row[7]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "events-python"

    def log_message(self, *args):  # one line per request is the access log's job (Traefik's)
        pass

    def send(self, status, body, extra=None):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        headers = {"X-Parity-Service": SERVICE, "X-Parity-Color": COLOR, "X-Parity-Version": VERSION, "X-Example-Mark": MARK, "X-Example-Build": BUILD}
        for name, value in {**headers, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def handle_one(self, method):
        url = urlsplit(self.path)
        if url.path == "/health/live":
            if "liveness" in BROKEN:
                writer.run(lambda c: c.execute("SELECT 1"), 1000)
            return "/health/live", self.send(200, {"status": "pass", "service": SERVICE})
        if url.path == "/health":
            return "/health", self.health()
        if url.path == "/metrics" and "metrics" not in BROKEN:
            return "/metrics", self.send(200, metrics.text())
        if url.path == "/api/events" and method == "GET":
            limit = min(max(int((parse_qs(url.query).get("limit") or ["50"])[0]), 1), 200)
            rows = reader.run(lambda c: (c.execute(SELECT_EVENTS, (limit,)), c.fetchall())[1], 2000)
            return "/api/events", self.send(200, {"events": [as_record(r) for r in rows]}, {"X-Parity-Read-From": "replica"})
        # Every write needs a verified token with the route table's role, checked before anything
        # else (defence in depth: a request that reaches this port around the edge writes nothing).
        if method != "GET":
            needed = "member" if url.path.endswith("/rsvp") else "editor"
            user = self.user()
            if user is None:
                return "unauthenticated", self.send(401, {"error": "a valid bearer token is needed (POST /auth/login)"})
            if ROLES.index(user[1]) < ROLES.index(needed):
                return "forbidden", self.send(403, {"error": f"{method} {url.path} needs the {needed} role; the token has {user[1]}"})
        if url.path == "/api/events" and method == "POST":
            return "/api/events", self.create(user)
        if method != "GET" and url.path.startswith("/api/events/"):
            return "not-implemented", self.send(501, {"error": f"{method} {url.path}: not implemented by this example"})
        return "unmatched", self.send(404, {"error": f"no route {method} {url.path}"})

    def user(self):
        # The broken variant's fourth flaw: it believes the identity headers the edge's forwardAuth
        # sets, which anyone who reaches this port directly can set too.
        if "headers" in BROKEN and self.headers.get("X-Auth-User") and self.headers.get("X-Auth-Role") in ROLES:
            return self.headers["X-Auth-User"], self.headers["X-Auth-Role"]
        return verified_user(self.headers.get("Authorization", ""))

    def create(self, user):
        try:
            body = json.loads(self.body or b"{}")
            title, starts_at = str(body["title"]).strip(), datetime.fromisoformat(str(body["startsAt"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError) as error:
            return self.send(400, {"error": f"body: expected title and startsAt (ISO 8601): {error}"})
        if not title or len(title) > 200:
            return self.send(400, {"error": "body.title: 1 to 200 characters"})
        new_id = str(uuid.uuid4())
        writer.run(lambda c: c.execute(
            "INSERT INTO events.events (id, title, description, starts_at, location, created_by) VALUES (%s, %s, %s, %s, %s, %s)",
            (new_id, title, str(body.get("description", "")), starts_at, str(body.get("location", "")), user[0])), 2000)
        return self.send(201, {"id": new_id, "title": title, "startsAt": body["startsAt"]}, {"Location": f"/api/events/{new_id}"})

    def health(self):
        checks = {}
        for name, pool in (("postgres-writer", writer), ("postgres-reader", reader)):
            started = time.monotonic()
            try:
                pool.run(lambda c: c.execute("SELECT 1"), 1000)
                checks[name] = {"ok": True, "ms": round((time.monotonic() - started) * 1000)}
            except psycopg2.Error as error:
                checks[name] = {"ok": False, "error": str(error).strip().splitlines()[0]}
        failing = [name for name, check in checks.items() if not check["ok"]]
        # The platform's health answer (IETF health+json): status pass | warn | fail; the deploy gate reads it.
        body = {"status": "pass" if not failing else "fail", "service": SERVICE, "color": COLOR, "version": VERSION, "checks": checks}
        return self.send(200 if not failing else 503, {**body, **({"failing": failing} if failing else {})})

    def dispatch(self, method):
        # The body first, whatever the answer: on a kept-alive connection an unread body would be
        # read as the start of the next request.
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method != "GET" else b""
        started, counted = time.monotonic(), not self.path.startswith(("/health", "/metrics"))
        if counted:
            with metrics.lock:
                metrics.in_flight += 1
        route, status = "unmatched", 500
        try:
            route, status = self.handle_one(method)
        except psycopg2.Error as error:
            status = self.send(503, {"error": f"database: {str(error).strip().splitlines()[0]}"})
        except Exception as error:  # an answer, never a dropped connection
            status = self.send(500, {"error": str(error)})
        finally:
            if counted:
                with metrics.lock:
                    metrics.in_flight -= 1
                metrics.observe(method, route, status, time.monotonic() - started)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")


def main():
    print(f"events-python {VERSION} ({COLOR}): migration {migrate()}", flush=True)
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True

    def drain(signum, _frame):
        if "sigterm" in BROKEN:
            os._exit(0)
        # Stop accepting (from another thread: shutdown waits for serve_forever), then let the
        # requests in flight finish, at most 10 s.
        def stop():
            server.shutdown()
            deadline = time.monotonic() + 10
            while metrics.in_flight > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            print(f"events-python: signal {signum}, drained (in flight: {metrics.in_flight})", flush=True)
        threading.Thread(target=stop).start()

    signal.signal(signal.SIGTERM, drain)
    print(f"events-python: listening on :{PORT}", flush=True)
    # A short poll: SIGTERM (a restart, a deploy's stop) ends the loop within 50 ms, not 500.
    server.serve_forever(poll_interval=0.05)
    server.server_close()


if __name__ == "__main__":
    main()
