"""Role codes (stored, used in BPMN lanes / candidateRole) and their Chinese labels (shown)."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "village_clerk": "村(社区)经办",
    "township_clerk": "乡镇经办",
    "township_reviewer": "乡镇审核",
    "county_reviewer": "县级审核",
    "city_manager": "市级管理",
    "inspector": "检查员",
    "project_manager": "项目管理",
    "so_reporter": "社会组织填报",
    "so_supervisor": "业务主管单位",
    "so_registrar": "社会组织登记管理",
}

LEVELS: dict[str, str] = {"city": "市", "county": "县(区)", "township": "乡镇(街道)", "village": "村(社区)"}

TASK_STATES: dict[str, str] = {"READY": "待办理", "CLAIMED": "已签收", "DONE": "已办结", "CANCELED": "已取消"}
INSTANCE_STATES: dict[str, str] = {"running": "办理中", "completed": "已办结", "cancelled": "已撤销", "error": "异常"}


def role_label(code: str) -> str:
    return ROLES.get(code, code)
