"""The WeCom protocol layer: callback crypto, message parsing, card builders, the API client.

Where wechatpy serves and where our own code stands (this package is the only place in the
project that imports wechatpy):

- ``client.py`` (with ``transport.py``) uses wechatpy's enterprise ``WeChatClient`` as the HTTP
  session and its endpoint naming, but overrides its request path
  (``transport.WeChatpyTransport``): wechatpy hard-codes the API host for gettoken and media
  downloads (the simulator, a proxy or a private deployment needs ``WECOM_API_BASE``), sets no
  timeout there, keeps the access token per process (ours lives in Redis for every process,
  refreshed by one under a lock) and retries on its own (the outbox decides retries, and must
  not send twice).
- ``crypto.py`` implements the documented callback crypto itself (checked against WeCom's
  official sample vectors), so that the envelope is parsed with defusedxml (DTDs and entities
  refused), the signature is verified before anything else is read, and each refusal is its
  own exception, which the endpoint turns into its 4xx.
- ``messages.py`` parses the decrypted XML the same safe way into our own typed messages,
  including the template-card tap (``template_card_event`` with its selected items).
- ``cards.py`` builds the message and template-card bodies as the documentation lays out.
"""
