"""The content of ``modules/``, loaded once when the app starts; invalid content stops the start."""

from __future__ import annotations

from flask import Flask, current_app

from lti_tool.content.loader import Content, load_content


def init_app(app: Flask) -> None:
    # ContentError carries the whole report (file, place, fix for each problem): let it stop the start.
    app.extensions["socle_content"] = load_content(app.config["CONTENT_PATH"])


def content() -> Content:
    loaded: Content = current_app.extensions["socle_content"]
    return loaded
