"""WeChat's side of the system, for development and tests.

- ``emulator``: a loopback HTTP server speaking WeChat's server APIs (OAuth, code2session, access
  tokens, message sends) the way wechatpy calls them, plus ``/__emulator__/...`` development endpoints.
- ``client``: a Python client that behaves like the mini-program (wx.login -> /api/mp/login, ...).
- ``miniprogram/``: the mini-program source skeleton.

Nothing here imports ``wx_backend``: WeChat does not know our service's code.
"""
