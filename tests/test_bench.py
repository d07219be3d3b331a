"""The benchmark's registry and load driver: the media scenarios with the targets of issue 11,
and several paths driven in turn (wrk's Lua script, the Python client against a real server)."""

from __future__ import annotations

import http.server
import threading

import pytest

from bench.load import python_load, wrk_script
from bench.scenarios import all_scenarios


def test_the_media_scenarios_are_registered_with_the_targets_of_issue_11():
    scenarios = {s.name: s for s in all_scenarios()}
    targets = {
        name: sorted((t.metric, t.op, t.limit) for t in scenarios[name].targets)
        for name in ("media_api", "media_api_filtered", "media_html", "media_item")
    }
    assert targets == {
        "media_api": [("p99_ms", "<", 100), ("ratio_to_healthz", ">=", 0.5)],
        "media_api_filtered": [("p99_ms", "<", 100), ("ratio_to_healthz", ">=", 0.5)],
        "media_html": [("p99_ms", "<", 100), ("ratio_to_healthz", ">=", 0.35)],
        "media_item": [("p99_ms", "<", 100)],
    }
    assert all(scenarios[n].needs_server for n in targets)
    assert all(t.source == "issue 11" for n in targets for t in scenarios[n].targets)
    assert "media_api_varied" in scenarios


def test_the_wrk_script_requests_each_path_in_turn():
    script = wrk_script(["/media/1", "/api/v1/media?q=h%C3%B6rbuch&page=2"])
    assert 'local paths = {"/media/1", "/api/v1/media?q=h%C3%B6rbuch&page=2"}' in script
    assert "request = function()" in script and "BENCH_JSON" in script
    assert "request = function()" not in wrk_script()
    with pytest.raises(ValueError):
        wrk_script(['/media/1"); os.execute("x'])


def test_the_python_client_drives_every_path():
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        result = python_load(base + "/a", 0.3, 2, paths=["/a", "/b", "/c"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.requests > 3 and result.errors == 0
    assert set(seen) == {"/a", "/b", "/c"}


def test_the_lending_scenarios_are_registered_with_the_targets_of_issue_12():
    scenarios = {s.name: s for s in all_scenarios()}
    targets = {
        name: sorted((t.metric, t.op, t.limit) for t in scenarios[name].targets)
        for name in ("lending_round_trip", "my_loans_html", "my_loans_api")
    }
    assert targets == {
        "lending_round_trip": [("p50_ms", "<=", 20)],
        "my_loans_html": [("p99_ms", "<", 100), ("sql_statements", "<=", 6)],
        "my_loans_api": [("p99_ms", "<", 100), ("sql_statements", "<=", 6)],
    }
    assert all(scenarios[n].needs_server for n in targets)
    assert all(t.source == "issue 12" for n in targets for t in scenarios[n].targets)


def test_the_round_trip_driver_borrows_then_returns_what_it_borrowed():
    from bench.scenarios.lending import borrow_return_cycles

    seen: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    next_id = iter(range(1, 1_000_000))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                loan_id = next(next_id)
                seen.append(("POST", self.path, self.headers["Authorization"]))
            self._answer(201, b'{"id": %d}' % loan_id)

        def do_DELETE(self):
            with lock:
                seen.append(("DELETE", self.path, self.headers["Authorization"]))
            self._answer(200, b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        run = borrow_return_cycles(base, [("tok-a", [11, 12]), ("tok-b", [21])], 0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert run.errors == 0 and run.cycles > 2 and run.requests == 2 * run.cycles
    assert len(run.latencies_ms) == run.cycles
    posts = {(path, auth) for method, path, auth in seen if method == "POST"}
    assert posts == {
        ("/api/v1/media/11/loans", "Bearer tok-a"),
        ("/api/v1/media/12/loans", "Bearer tok-a"),
        ("/api/v1/media/21/loans", "Bearer tok-b"),
    }
    deletes = [path for method, path, _ in seen if method == "DELETE"]
    assert len(deletes) == len(set(deletes)) >= run.cycles  # each loan returned once
