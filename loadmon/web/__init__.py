"""The web app (`loadmon web`): Starlette + Jinja2, server-rendered; it calls only :mod:`loadmon.service`.

Imported only by the ``web`` command, so ``loadmon --help`` never loads the web stack.
"""
