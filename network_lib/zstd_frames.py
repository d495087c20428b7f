"""Checks that a zstd stream ends on a frame boundary (RFC 8878 §3.1), without decoding it.

python-zstandard's streaming decoders accept a truncated frame silently; an upload cut off
mid-frame must be refused instead. The tracker walks frame and block headers and skips
block contents, so it costs a few operations per 128 KiB block.
"""
from __future__ import annotations

ZSTD_MAGIC = 0xFD2FB528


class ZstdFormatError(ValueError):
    pass


class FrameTracker:
    def __init__(self) -> None:
        self.frames = 0
        self._state = "magic"
        self._need = 4
        self._buf = b""
        self._skip = 0
        self._checksum = False

    @property
    def complete(self) -> bool:
        """True when at least one frame ended and nothing follows mid-frame."""
        return self.frames > 0 and self._state == "magic" and not self._buf and not self._skip

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                if not self._skip:
                    self._after_skip()
                continue
            take = min(self._need - len(self._buf), n - i)
            self._buf += data[i:i + take]
            i += take
            if len(self._buf) == self._need:
                header, self._buf = self._buf, b""
                self._on_header(header)

    def _expect(self, state: str, need: int) -> None:
        self._state, self._need = state, need

    def _skip_then(self, count: int, state: str, need: int) -> None:
        self._expect(state, need)
        self._skip = count
        if not count:
            self._after_skip()

    def _after_skip(self) -> None:
        if self._state == "frame_end":
            self._end_frame()

    def _end_frame(self) -> None:
        if self._checksum:
            self._checksum = False
            self._expect("checksum", 4)
        else:
            self.frames += 1
            self._expect("magic", 4)

    def _on_header(self, h: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(h, "little")
            if magic == ZSTD_MAGIC:
                self._expect("descriptor", 1)
            elif magic & 0xFFFFFFF0 == 0x184D2A50:      # skippable frame
                self._expect("skippable", 4)
            else:
                raise ZstdFormatError("data after the last zstd frame is not a zstd frame")
        elif state == "skippable":
            self._skip_then(int.from_bytes(h, "little"), "magic", 4)
        elif state == "descriptor":
            self._on_descriptor(h[0])
        elif state == "frame_header":
            self._expect("block", 3)
        elif state == "block":
            self._on_block(int.from_bytes(h, "little"))
        elif state == "checksum":
            self.frames += 1
            self._expect("magic", 4)

    def _on_descriptor(self, d: int) -> None:
        fcs_flag, single = d >> 6, (d >> 5) & 1
        if (d >> 3) & 1:
            raise ZstdFormatError("zstd frame header has the reserved bit set")
        self._checksum = bool((d >> 2) & 1)
        size = (0 if single else 1) + (0, 1, 2, 4)[d & 3] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
        self._expect("frame_header", size) if size else self._expect("block", 3)

    def _on_block(self, h: int) -> None:
        last, kind, size = h & 1, (h >> 1) & 3, h >> 3
        if kind == 3:
            raise ZstdFormatError("zstd block of the reserved type")
        count = 1 if kind == 1 else size
        self._skip_then(count, "frame_end" if last else "block", 3)
        if not self._skip and last and self._state == "frame_end":
            pass  # handled by _after_skip
