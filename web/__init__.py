from web.convertors import install as _install_convertors

_install_convertors()  # before any module of the package compiles its routes
