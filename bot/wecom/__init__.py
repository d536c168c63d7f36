"""The WeCom protocol layer: callback crypto, message parsing, card builders, the API client.

This package is the only place in the project that imports wechatpy.
"""
