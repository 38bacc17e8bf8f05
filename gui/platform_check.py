"""Say clearly why Qt cannot open a window, before Qt aborts the process over it.

Without a usable platform plugin Qt prints a terse line and calls abort(): a frozen app would
vanish without a word. This checks the plugin Qt is about to load, and that its system
libraries load, and turns a failure into one sentence with the fix.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb"}
# Debian/Ubuntu package for each library the xcb plugin most often misses.
PACKAGES = {
    "libxcb-cursor": "libxcb-cursor0",
    "libxkbcommon-x11": "libxkbcommon-x11-0",
    "libEGL": "libegl1",
    "libGL": "libgl1",
    "libfontconfig": "libfontconfig1",
    "libxcb-icccm": "libxcb-icccm4",
    "libxcb-keysyms": "libxcb-keysyms1",
}


def platform_problem() -> str | None:
    """A message naming what is missing, or None when Qt should be able to start."""
    if not sys.platform.startswith("linux"):
        return None
    from PySide6.QtCore import QLibraryInfo

    requested = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if not requested:
        if os.environ.get("WAYLAND_DISPLAY"):
            requested = "wayland"
        elif os.environ.get("DISPLAY"):
            requested = "xcb"
        else:
            return (
                "no display found: neither DISPLAY nor WAYLAND_DISPLAY is set. Start it "
                "from a desktop session, or set QT_QPA_PLATFORM=offscreen for a check "
                "without a screen (e.g. --self-test)."
            )
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin = folder / f"libq{requested}.so"
    if not plugin.exists():
        have = sorted(p.name[4:-3] for p in folder.glob("libq*.so"))
        return (
            f"the Qt platform plugin '{requested}' is missing from {folder}; "
            f"available: {', '.join(have) or 'none'}."
        )
    if requested in HEADLESS_PLATFORMS:
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        detail = str(exc)
        hint = next(
            (f" Install the package {pkg}." for lib, pkg in PACKAGES.items() if lib in detail), ""
        )
        return f"the Qt platform plugin '{requested}' cannot load: {detail}.{hint}"
    if requested == "xcb" and not _x_server_reachable():
        return (
            f"cannot connect to the X display {os.environ.get('DISPLAY', '')!r}: "
            "is the X server running, and may this user connect to it?"
        )
    return None


def _x_server_reachable() -> bool:
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # the plugin loaded, so let Qt report it in its own words
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(None, None)
    try:
        return conn is not None and xcb.xcb_connection_has_error(conn) == 0
    finally:
        if conn:
            xcb.xcb_disconnect(conn)
