"""The records the session host daemon's frames carry (the frames themselves: frames.py).

A frame is two lengths (network order), a JSON header and a binary payload (terminal bytes
travel as they are, never re-encoded). Requests carry an "op" and an "id"; the reply carries
"re": id, "ok", and "result" or "error" with the error's "type". Pushes carry "push".
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields, is_dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from agentdeck.core.agents.sessions import SessionInfo, SessionSpec
from agentdeck.core.screen.detect import Detection, Prompt

if TYPE_CHECKING:
    from agentdeck.core.oversight.approvals import ApprovalQueue

_T = TypeVar("_T")


# -- records --------------------------------------------------------------------------------
def plain(record: Any) -> dict[str, Any]:
    """A record (SessionInfo, Detection, Prompt) as JSON-ready data: what dataclasses.asdict
    gives for these, whose fields are plain values, tuples of them and records, without its
    deep copy — a state and a queue change go out for each permission request (bench/
    acp_queue.py), and asdict's copy was most of their cost."""
    return {k: plain(v) if is_dataclass(v) else v for k, v in vars(record).items()}


def info_to_wire(info: SessionInfo) -> dict[str, Any]:
    return plain(info)


_NAMES: dict[type, frozenset[str]] = {}


def known(cls: type[_T], data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the fields `cls` does not have: a newer peer's additions are ignored."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    return {k: v for k, v in data.items() if k in names}


def prompt_from_wire(data: dict[str, Any]) -> Prompt:
    return Prompt(**known(Prompt, data))


def info_from_wire(data: dict[str, Any]) -> SessionInfo:
    detection = detection_from_wire(data.get("detection") or {})
    return SessionInfo(**{k: v for k, v in known(SessionInfo, data).items()
                          if k != "detection"}, detection=detection)


def spec_to_wire(spec: SessionSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["argv"] = list(spec.argv)
    data["env"] = dict(spec.env)
    return data


def spec_from_wire(data: dict[str, Any]) -> SessionSpec:
    return SessionSpec(**{**known(SessionSpec, data), "argv": tuple(data["argv"])})


def detection_from_wire(det: dict[str, Any]) -> Detection:
    prompt = det.get("prompt")
    return Detection(det.get("state", "unknown"), prompt_from_wire(prompt) if prompt else None,
                     det.get("reset"), det.get("detail"))


def queue_to_wire(queue: ApprovalQueue, history: int = 20) -> dict[str, Any]:
    """The approvals queue as the daemon pushes it: the pending entries (with their age: the
    client's clock differs) and the last `history` decisions (RemoteQueue reads it)."""
    now = time.monotonic()
    pending = [{"id": e.id, "agent": e.agent, "prompt": plain(e.prompt),
                "age": now - e.created, "created_at": e.created_at,
                "via_hook": queue.via_hook(e.id)} for e in queue.pending()]
    decisions = [{"entry": {"id": d.entry.id, "agent": d.entry.agent,
                            "prompt": plain(d.entry.prompt),
                            "created_at": d.entry.created_at},
                  "decision": d.decision, "by": d.by, "at": d.at, "via": d.via,
                  "keys": d.keys, "why": d.why}
                 for d in list(queue.history)[-history:]]
    return {"pending": pending, "history": decisions}
