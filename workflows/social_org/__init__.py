"""Social organizations (社会组织): register, annual inspection, 双随机 spot checks, credit lists."""
