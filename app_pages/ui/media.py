"""A fix for serving audio and video with Streamlit 1.60 on Starlette 1.x (applied once by ``app.py``)."""

from __future__ import annotations


def fix_media_serving() -> None:
    """Work around Streamlit 1.60 + Starlette 1.x: audio and video answer HTTP 500 in the browser.

    Streamlit's media-aware gzip responder records the response start of an ``audio/*`` or ``video/*``
    file and marks it "not to compress", but Starlette 1.x expects that start to be sent at once
    (its own responder does); the body then goes out first and uvicorn refuses it ("Expected ASGI
    message 'http.response.start'"). Pinning a Starlette that Streamlit 1.60 was built against is the
    real fix; until then this sends the start where Starlette would. A no-op when the bug is absent.
    """
    try:
        from starlette.middleware.gzip import IdentityResponder
        from streamlit.web.server.starlette import starlette_gzip_middleware as media
    except ImportError:
        return
    if not hasattr(IdentityResponder(None, 0), "partial_response"):
        return  # an older Starlette, which Streamlit's responder was written for
    for cls in (media._MediaAwareGZipResponder, media._MediaAwareIdentityResponder):
        if getattr(cls, "_studio_fixed", False):
            continue
        parent = cls.__mro__[1]

        async def send_with_compression(self, message, _parent=parent):
            if message["type"] != "http.response.start":
                await _parent.send_with_compression(self, message)
                return
            await _parent.send_with_compression(self, message)  # sends it when Starlette's own list excludes it
            sent = self.content_encoding_set or self.partial_response or self.content_type_is_excluded
            media._handle_response_start(self, message)  # Streamlit's list adds audio/ and video/
            self.content_type_is_excluded = self.content_type_is_excluded or sent and not self.content_encoding_set
            if self.content_type_is_excluded and not sent:
                await self.send(message)

        cls.send_with_compression = send_with_compression
        cls._studio_fixed = True
