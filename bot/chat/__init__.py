"""The path of a WeCom callback: verify and de-duplicate (webhook, dedupe), find the person
and their conversation (dispatch, context, state), and hand it to the handler registered for
it (router)."""
