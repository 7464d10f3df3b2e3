"""公墓年检: the cemetery register, the yearly inspection with its checklist, rectification and the sales freeze."""
