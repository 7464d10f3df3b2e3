"""低保审核确认 (process key ``dibao_approval``, diagram ``bpmn/dibao_approval.bpmn``).

What the application wires up for this process:

* ``routing.make_confirm_router(is_delegated)``, registered with ``engine.register_router("dibao_approval", ...)``:
  routes the single 审核确认 task (``Task_confirm``) to the county or, where the county has delegated confirmation
  to the case's township on that date, to that township's ``township_reviewer``;
* the service ``dibao_standard(area_type) -> float`` (``engine.register_services``): the local 低保 standard in
  yuan/person/month in force today for ``"urban"`` or ``"rural"``. The amount script reads it from the process
  variable ``standard``; no form can set it.

Kept free of imports so that loading ``workflows.dibao.models`` (ORM registration) stays cheap.
"""
