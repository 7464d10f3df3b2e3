"""Settings read from the environment, in one place.

CIVICFLOW_DATABASE_URL   sqlite:///path/to.db (default: <data dir>/civicflow.db) or postgres://user@host/db
CIVICFLOW_DATA_DIR       where the SQLite file and attachments live (default: ./data)
CIVICFLOW_SECRET_KEY     signs session cookies; generated into <data dir>/secret_key on first use if unset
CIVICFLOW_BPMN_DIR       the directory deployed by `civicflow deploy` / `demo` (default: ./bpmn)
CIVICFLOW_TIMEZONE       the bureau's zone (default: Asia/Shanghai)
CIVICFLOW_ATTACHMENT_MAX_MB   size limit of one attachment (default: 10)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    bpmn_dir: Path
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    secret_key_value: str | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("CIVICFLOW_DATA_DIR", "data")).resolve()
        url = os.environ.get("CIVICFLOW_DATABASE_URL") or f"sqlite://{data_dir / 'civicflow.db'}"
        bpmn_dir = Path(os.environ.get("CIVICFLOW_BPMN_DIR", PROJECT_ROOT / "bpmn")).resolve()
        tz = ZoneInfo(os.environ.get("CIVICFLOW_TIMEZONE", "Asia/Shanghai"))
        max_mb = float(os.environ.get("CIVICFLOW_ATTACHMENT_MAX_MB", "10") or 10)
        return cls(data_dir, url, bpmn_dir, tz, os.environ.get("CIVICFLOW_SECRET_KEY"), int(max_mb * 1024 * 1024))

    @property
    def secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory (never in the repo)."""
        if self.secret_key_value:
            return self.secret_key_value
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
