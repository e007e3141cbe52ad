"""Splunk app directory + .tgz, app.conf, metadata, dashboard and admin README."""

from smguard.package.app import app_files, build_app

__all__ = ["app_files", "build_app"]
