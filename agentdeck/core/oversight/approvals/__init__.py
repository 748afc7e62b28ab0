"""The approvals queue: every pending permission prompt of every agent, answered once
(`answering.ApprovalQueue`; its module says how)."""

from agentdeck.core.oversight.approvals.answering import (
    ALLOW,
    ALWAYS,
    DENY,
    SETTLE,
    SETTLE_WINDOW,
    WITHDRAWN,
    ApprovalQueue,
    Decision,
    Entry,
    OperationError,
    QueueView,
    StaleAnswer,
)

__all__ = ["ALLOW", "ALWAYS", "DENY", "SETTLE", "SETTLE_WINDOW", "WITHDRAWN", "ApprovalQueue",
           "Decision", "Entry", "OperationError", "QueueView", "StaleAnswer"]
