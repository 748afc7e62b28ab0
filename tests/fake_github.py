"""A local HTTPS server playing GitHub's API (a GitHub Enterprise host, as `gh` sees one at
GH_HOST) for the calls the real `gh` makes for `pr create`, `pr view --json`, `pr checks` and
`issue view`: GraphQL by operation name, with a repository, its issues, its pull requests and
their checks held in memory. Its CA (trustme) goes to `gh` through SSL_CERT_FILE."""

from __future__ import annotations

import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass
class FakeGitHub:
    owner: str = "acme"
    name: str = "app"
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # head -> check runs
    requests: list[dict[str, Any]] = field(default_factory=list)
    # GitHub Actions runs by id: {id, branch, job, step, log}
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    ca_file: Path | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, config_dir: Path) -> dict[str, str]:
        """What `gh` needs to talk to this server, logged in."""
        assert self.ca_file is not None
        return {"SSL_CERT_FILE": str(self.ca_file), "GH_HOST": self.host,
                "GH_ENTERPRISE_TOKEN": "fake-token", "GH_CONFIG_DIR": str(config_dir),
                "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}

    # -- the API --------------------------------------------------------------------------------
    def repository(self) -> dict[str, Any]:
        return {"id": "R_1", "name": self.name, "owner": {"login": self.owner},
                "nameWithOwner": f"{self.owner}/{self.name}", "hasIssuesEnabled": True,
                "description": "", "hasWikiEnabled": False, "viewerPermission": "ADMIN",
                "defaultBranchRef": {"name": "main"}, "parent": None, "isPrivate": False,
                "mergeCommitAllowed": True, "rebaseMergeAllowed": True,
                "squashMergeAllowed": True, "url": self.url(""), "sshUrl": "",
                "isFork": False}

    def url(self, rest: str) -> str:
        return f"https://{self.host}/{self.owner}/{self.name}{rest}"

    def rollup(self, head: str) -> dict[str, Any]:
        runs = self.checks.get(head, [])
        nodes = [{"__typename": "CheckRun", "name": r["name"], "status": "COMPLETED",
                  "conclusion": r["conclusion"], "startedAt": "2026-01-01T00:00:00Z",
                  "completedAt": "2026-01-01T00:01:00Z", "detailsUrl": r.get("url", ""),
                  "isRequired": False,
                  "checkSuite": {"workflowRun": {"workflow": {"name": "ci"}}}}
                 for r in runs]
        contexts = {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": ""},
                    "totalCount": len(nodes), "checkRunCount": len(nodes),
                    "checkRunCountsByState": [], "statusContextCount": 0,
                    "statusContextCountsByState": []}
        return {"nodes": [{"commit": {"oid": "0" * 40, "statusCheckRollup": {
            "contexts": contexts}}}]}

    def pull(self, pr: dict[str, Any]) -> dict[str, Any]:
        # (gh asks for the head commit's rollup as `statusCheckRollup: commits(last: 1)`)
        return {**pr, "statusCheckRollup": self.rollup(pr["headRefName"]),
                "commits": self.rollup(pr["headRefName"])}

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        op = re.search(r"(query|mutation)\s+(\w+)", query)
        name = op.group(2) if op else ""
        if name == "UserCurrent":
            return {"viewer": {"login": "me"}}
        if name == "RepositoryInfo" or name.startswith("Repository"):
            return {"repository": self.repository()}
        if name == "IssueByNumber":
            issue = self.issues.get(int(variables["number"]))
            found = None if issue is None else {"__typename": "Issue", "id": f"I_{issue['number']}",
                                                "url": self.url(f"/issues/{issue['number']}"),
                                                "state": "OPEN", **issue}
            return {"repository": {"hasIssuesEnabled": True, "issue": found}}
        if name == "PullRequestForBranch":
            nodes = [self.pull(p) for p in self.pulls
                     if p["headRefName"] == variables["headRefName"]
                     and (not variables.get("states") or p["state"] in variables["states"])]
            return {"repository": {"pullRequests": {"nodes": nodes},
                                   "defaultBranchRef": {"name": "main"}}}
        if name == "PullRequestByNumber":
            pr = next(p for p in self.pulls if p["number"] == variables["pr_number"])
            return {"repository": {"pullRequest": self.pull(pr)}}
        if name == "PullRequestCreate":
            given = variables["input"]
            number = len(self.pulls) + 1
            pr = {"id": f"PR_{number}", "number": number, "url": self.url(f"/pull/{number}"),
                  "title": given["title"], "body": given.get("body", ""),
                  "headRefName": given["headRefName"], "baseRefName": given["baseRefName"],
                  "isDraft": bool(given.get("draft")), "state": "OPEN",
                  "isCrossRepository": False, "headRepositoryOwner": {"id": "U_1",
                                                                       "login": self.owner},
                  "mergeable": "MERGEABLE", "reviewDecision": ""}
            self.pulls.append(pr)
            return {"createPullRequest": {"pullRequest": pr}}
        if name.startswith("PullRequestStatusChecks") or "statusCheckRollup" in query:
            pr = next(p for p in self.pulls if p["id"] == variables.get("id"))
            return {"node": self.pull(pr)}
        return {}

    def rest(self, path: str) -> Any:
        """GitHub Actions' REST calls `gh run view --log-failed` makes: a run, its workflow,
        its jobs, its logs (a zip of one text file per step)."""
        base = f"/api/v3/repos/{self.owner}/{self.name}/actions"
        if path in ("/api/v3", "/api/v3/"):
            return {}
        m = re.fullmatch(re.escape(base) + r"/runs/(\d+)(/jobs|/logs)?", path)
        run = self.runs.get(int(m.group(1))) if m else None
        if m and run is not None:
            if m.group(2) == "/logs":
                return self.logs_zip(run)
            if m.group(2) == "/jobs":
                return {"total_count": 1, "jobs": [{
                    "id": run["id"] * 10, "run_id": run["id"], "name": run["job"],
                    "status": "completed", "conclusion": "failure",
                    "started_at": "2026-01-01T00:00:00Z",
                    "completed_at": "2026-01-01T00:01:00Z", "url": "", "html_url": "",
                    "steps": [{"name": run["step"], "number": 1, "status": "completed",
                               "conclusion": "failure", "started_at": "2026-01-01T00:00:00Z",
                               "completed_at": "2026-01-01T00:01:00Z"}]}]}
            return {"id": run["id"], "name": "ci", "status": "completed",
                    "conclusion": "failure", "workflow_id": 1, "head_branch": run["branch"],
                    "head_sha": "0" * 40, "event": "pull_request", "run_attempt": 1,
                    "jobs_url": f"https://{self.host}{base}/runs/{run['id']}/jobs",
                    "logs_url": f"https://{self.host}{base}/runs/{run['id']}/logs",
                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:01:00Z",
                    "html_url": self.url(f"/actions/runs/{run['id']}"), "display_title": "ci"}
        if path == f"{base}/workflows/1":
            return {"id": 1, "name": "ci", "path": ".github/workflows/ci.yml", "state": "active"}
        return None

    def logs_zip(self, run: dict[str, Any]) -> bytes:
        import io
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr(f"{run['job']}/1_{run['step']}.txt", run["log"])
        return out.getvalue()

    # -- serving ------------------------------------------------------------------------------
    def start(self, folder: Path) -> FakeGitHub:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "fake-github-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _signed_in(self) -> bool:
                # as GitHub: without the token, 401 (gh then says it is not logged in)
                if "fake-token" in (self.headers.get("Authorization") or ""):
                    return True
                self._reply(401, {"message": "Bad credentials"})
                return False

            def do_POST(self) -> None:
                if not self._signed_in():
                    return
                size = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(size) or b"{}")
                fake.requests.append({"method": "POST", "path": self.path, **payload})
                if self.path.endswith("/graphql"):
                    data = fake.graphql(payload.get("query", ""), payload.get("variables") or {})
                    self._reply(200, {"data": data})
                else:
                    self._reply(404, {"message": "Not Found"})

            def do_GET(self) -> None:
                if not self._signed_in():
                    return
                fake.requests.append({"method": "GET", "path": self.path})
                found = fake.rest(self.path.split("?")[0])
                if isinstance(found, bytes):  # a run's logs: a zip
                    self.send_response(200)
                    self.send_header("Content-Type", "application/zip")
                    self.send_header("Content-Length", str(len(found)))
                    self.end_headers()
                    self.wfile.write(found)
                    return
                self._reply(200 if found is not None else 404,
                            found if found is not None else {"message": "Not Found"})

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
