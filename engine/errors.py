"""Errors the engine raises; the web layer maps each to one HTTP status.

    EngineError
     ├── DeploymentError        invalid diagram/form (names file and element)      → 422
     ├── NotFound               unknown process, instance or task                  → 404
     ├── ConflictError          lost an optimistic-lock race; nothing was written   → 409
     ├── InvalidTaskState       task not ready / not a human task / instance ended → 409
     └── FormValidationError    (engine.forms) submitted data breaks the form       → 422
"""

from __future__ import annotations


class EngineError(Exception):
    pass


class DeploymentError(EngineError):
    def __init__(self, message: str, *, filename: str | None = None, element: str | None = None,
                 line: int | None = None) -> None:
        self.filename, self.element, self.line = filename, element, line
        where = ", ".join(
            p for p in (filename and f"file {filename}", element and f"element {element}", line and f"line {line}") if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class NotFound(EngineError):
    pass


class ConflictError(EngineError):
    pass


class InvalidTaskState(EngineError):
    pass
