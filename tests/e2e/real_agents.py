"""Where the real agent CLIs are installed, and how each is set up to run offline here.

`.ci/run` installs pinned versions (scripts/install_agents.sh) into `.cache/agents` (or
`$AGENTDECK_AGENTS_DIR`). Each CLI gets its own HOME (and config folder) in the test's temp dir,
with the first-run screens (onboarding, API key approval, folder trust) already answered, and
points at the fake model server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.agents.launch import takes_task
from agentdeck.core.fleet.kinds import BUILTIN_COMMANDS, KINDS, versions

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = versions()  # the registry's verified versions, which install_agents.sh installs
FAKE_KEY = "sk-ant-agentdeck-offline-0123456789"


def agents_dir() -> Path:
    return Path(os.environ.get("AGENTDECK_AGENTS_DIR") or ROOT / ".cache" / "agents")


def more_dir() -> Path:
    """The newer CLIs (opencode, Kilo, Qwen Code, Copilot CLI): a folder of their own."""
    return Path(os.environ.get("AGENTDECK_AGENTS_DIR") or ROOT / ".cache" / "agents-more")


def newest_dir() -> Path:
    """The newest Claude Code and Codex, installed beside the pinned ones (install_agents.sh)."""
    return Path(os.environ.get("AGENTDECK_NEWEST_DIR") or ROOT / ".cache" / "agents-newest")


def acp_dir() -> Path:
    """The ACP adapters of Claude Code and Codex (the kinds registry's `adapter`)."""
    return Path(os.environ.get("AGENTDECK_AGENTS_DIR") or ROOT / ".cache" / "agents-acp")


def binary(cli: str) -> Path | None:
    """The CLI's program; "claude-acp" / "codex-acp": its ACP adapter's."""
    base = agents_dir()
    more = more_dir()
    path = {
        "claude-acp": acp_dir() / "node_modules/.bin/claude-agent-acp",
        "codex-acp": acp_dir() / "node_modules/.bin/codex-acp",
        # the npm package's native binary, run directly (its node wrapper needs node >= 22)
        "claude": base / "node_modules/@anthropic-ai/claude-code-linux-x64/claude",
        "codex": base / "node_modules/.bin/codex",
        "gemini": base / "node_modules/.bin/gemini",
        "aider": base / "aider-venv/bin/aider",
        "opencode": more / "node_modules/.bin/opencode",
        "kilo": more / "node_modules/.bin/kilo",
        "qwen": more / "node_modules/.bin/qwen",
        "copilot": more / "node_modules/.bin/copilot",
    }[cli]
    return path if path.exists() else None


def missing_reason(cli: str) -> str:
    if cli.endswith("-acp"):
        return (f"{KINDS[cli[:-4]].adapter} is not installed in {acp_dir()} "
                "(scripts/install_agents.sh installs it; .ci/run runs that)")
    folder = agents_dir() if cli in ("claude", "codex", "gemini", "aider") else more_dir()
    return (f"{cli} {VERSIONS[cli]} is not installed in {folder} "
            "(scripts/install_agents.sh installs it; .ci/run runs that)")


def require(cli: str) -> Path:
    """The CLI's binary; a skip with the reason when it is not installed — a failure under CI,
    where .ci/run installed it (a CLI that failed to install must not pass as a skip)."""
    from tests.conftest import requires

    exe = binary(cli)
    requires(cli, None if exe is not None else missing_reason(cli))
    assert exe is not None
    return exe


@dataclass
class AgentSetup:
    command: str  # the fleet's `commands:` entry
    env: dict[str, str]  # the agent's `env:` in the fleet


def claude(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    home.mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": VERSIONS["claude"],
        "theme": "dark",
        # Claude Code remembers an approved key by its last 20 characters
        "customApiKeyResponses": {"approved": [FAKE_KEY[-20:]], "rejected": []},
        "projects": {str(worktree): {"hasTrustDialogAccepted": True, "allowedTools": []}},
    }
    (home / ".claude.json").write_text(json.dumps(state))
    exe = binary("claude")
    assert exe is not None
    return AgentSetup(
        command=f"{shlex.quote(str(exe))} --permission-mode default "
                "--append-system-prompt {brief} {task}",
        env={"HOME": str(home), "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": FAKE_KEY,
             "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})


def codex(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        'model = "fake-model"\n'
        'model_provider = "fake"\n'
        'approval_policy = "on-request"\n'
        "check_for_update_on_startup = false\n\n"
        "[model_providers.fake]\n"
        'name = "fake"\n'
        f'base_url = "{base_url}/v1"\n'
        'env_key = "FAKE_API_KEY"\n'
        'wire_api = "responses"\n\n'
        f'[projects."{worktree}"]\n'
        'trust_level = "trusted"\n')
    exe = binary("codex")
    assert exe is not None
    return AgentSetup(command=f"{shlex.quote(str(exe))} {{prompt}}",
                      env={"HOME": str(home), "CODEX_HOME": str(home), "FAKE_API_KEY": "x"})


def aider(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    home.mkdir(parents=True, exist_ok=True)
    exe = binary("aider")
    assert exe is not None
    flags = ("--model openai/fake-model --edit-format diff --no-check-update "
             "--no-show-release-notes --analytics-disable --no-gitignore "
             "--no-show-model-warnings --read {brief_file}")
    return AgentSetup(command=f"{shlex.quote(str(exe))} {flags}",
                      env={"HOME": str(home), "OPENAI_API_KEY": "x",
                           "OPENAI_API_BASE": f"{base_url}/v1"})


def gemini(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({
        "security": {"auth": {"selectedType": "gemini-api-key"},
                     "folderTrust": {"enabled": False}},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "privacy": {"usageStatisticsEnabled": False}}))
    exe = binary("gemini")
    assert exe is not None
    # -m: a fixed model, so no router model is asked first; -i: start with the task, stay
    return AgentSetup(command=f"{shlex.quote(str(exe))} -m gemini-2.5-flash -i {{prompt}}",
                      env={"HOME": str(home), "GEMINI_API_KEY": "x",
                           "GOOGLE_GEMINI_BASE_URL": base_url})


def _xdg(home: Path) -> dict[str, str]:
    """A scratch HOME and XDG folders: nothing of the machine's own configuration is read."""
    dirs = {"XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local/share",
            "XDG_CACHE_HOME": home / ".cache", "XDG_STATE_HOME": home / ".local/state"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), **{k: str(v) for k, v in dirs.items()}}


def _opencode_config(base_url: str) -> dict[str, object]:
    # an OpenAI-compatible provider of one model (no "gpt-" in its id: opencode would then
    # give it apply_patch instead of write); bash and edits ask, as the queue is built for;
    # no snapshots: on a loaded machine Kilo's slow first snapshot asks a question of its own
    # (its detection has a corpus screen: kilo-7.7.7-question-snapshot)
    return {"model": "fake/fake-model", "small_model": "fake/fake-model", "snapshot": False,
            "enabled_providers": ["fake"], "autoupdate": False, "share": "disabled",
            "permission": {"bash": "ask", "edit": "ask"},
            "provider": {"fake": {
                "npm": "@ai-sdk/openai-compatible", "name": "Fake",
                "options": {"baseURL": f"{base_url}/v1", "apiKey": "sk-fake"},
                "models": {"fake-model": {"name": "Fake Model", "tool_call": True,
                                          "limit": {"context": 128000, "output": 8192}}}}}}


def opencode(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    env = _xdg(home)
    config = home / ".config" / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(_opencode_config(base_url)))
    exe = binary("opencode")
    assert exe is not None
    return AgentSetup(command=f"{shlex.quote(str(exe))} --prompt {{prompt}}",
                      env={**env, "OPENCODE_DISABLE_AUTOUPDATE": "1",
                           "OPENCODE_DISABLE_MODELS_FETCH": "1",
                           "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
                           "OPENCODE_DISABLE_CLAUDE_CODE": "1"})


def kilo(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    env = _xdg(home)
    config = home / ".config" / "kilo" / "kilo.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({**_opencode_config(base_url),
                                  "experimental": {"openTelemetry": False}}))
    exe = binary("kilo")
    assert exe is not None
    return AgentSetup(command=f"{shlex.quote(str(exe))} --prompt {{prompt}}",
                      env={**env, "KILO_NO_DAEMON": "1", "KILO_DISABLE_AUTOUPDATE": "1",
                           "KILO_DISABLE_MODELS_FETCH": "1", "KILO_TELEMETRY_LEVEL": "off",
                           "KILO_DISABLE_PRESENCE": "1", "KILO_DISABLE_SHARE": "1",
                           "KILO_DISABLE_LSP_DOWNLOAD": "1",
                           "KILO_DISABLE_CODEBASE_INDEXING": "1",
                           "KILO_DISABLE_CLAUDE_CODE": "1"})


def qwen(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    settings = home / ".qwen" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({
        "$version": 4,
        "security": {"auth": {"selectedType": "openai"}, "folderTrust": {"enabled": False}},
        "general": {"enableAutoUpdate": False},
        "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False},
        "ui": {"hideTips": True, "enableWelcomeBack": False, "enableUserFeedback": False,
               "enableFollowupSuggestions": False},
        "memory": {"enableManagedAutoMemory": False, "enableManagedAutoDream": False}}))
    exe = binary("qwen")
    assert exe is not None
    return AgentSetup(command=f"{shlex.quote(str(exe))} --approval-mode default -i {{prompt}}",
                      env={"HOME": str(home), "OPENAI_BASE_URL": f"{base_url}/v1",
                           "OPENAI_API_KEY": "sk-fake", "OPENAI_MODEL": "fake-model"})


def copilot(home: Path, worktree: Path, base_url: str) -> AgentSetup:
    config = home / ".copilot"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({
        "banner": "never", "showTipsOnStartup": False, "autoUpdate": False,
        "trustedFolders": [str(worktree)], "beep": False, "notifications": False,
        "ide": {"autoConnect": False}}))
    exe = binary("copilot")
    assert exe is not None
    # its runtime (about 245 MB) unpacks once into a cache shared by every test
    return AgentSetup(command=f"{shlex.quote(str(exe))} -i {{prompt}}",
                      env={"HOME": str(home), "COPILOT_HOME": str(config),
                           "COPILOT_CACHE_HOME": str(more_dir() / "copilot-cache"),
                           "COPILOT_OFFLINE": "true", "COPILOT_AUTO_UPDATE": "false",
                           "COPILOT_PROVIDER_BASE_URL": f"{base_url}/v1",
                           "COPILOT_PROVIDER_TYPE": "openai",
                           "COPILOT_PROVIDER_API_KEY": "sk-fake", "COPILOT_MODEL": "fake-model",
                           "COPILOT_PROVIDER_MAX_PROMPT_TOKENS": "128000",
                           "COPILOT_PROVIDER_MAX_OUTPUT_TOKENS": "8192"})


SETUPS = {"claude": claude, "codex": codex, "aider": aider, "gemini": gemini,
          "opencode": opencode, "kilo": kilo, "qwen": qwen, "copilot": copilot}
# CLIs that take the task on their command line; the others get it typed at their prompt
TASK_ON_COMMAND_LINE = {cli for cli in VERSIONS if takes_task(BUILTIN_COMMANDS[cli])}


def stop_codex_daemon(env: dict[str, str], folder: Path) -> None:
    """Codex leaves a background app-server daemon per CODEX_HOME (`app-server --listen` and
    its `pid-update-loop`): ask it to stop, then end what is left of this run by pid — every
    process whose executable or command line names `folder` (the run's temp folder)."""
    import psutil

    exe = binary("codex")
    if exe is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([str(exe), "app-server", "daemon", "stop"], env=env,
                           capture_output=True, timeout=30, check=False)
    left = [p for p in psutil.process_iter(["exe", "cmdline"])
            if str(folder) in " ".join([p.info["exe"] or "", *(p.info["cmdline"] or [])])]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
