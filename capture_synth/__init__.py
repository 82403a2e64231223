"""Synthesised and assembled captures for tests, benchmarks and the demo (there is no camera here).

- ``liveness``: a real face photo (``Portrait``) animated frame by frame: blinks and mouth openings
  (``animated_capture``), the light challenge's reflections (``light_capture``), photo and screen
  attacks;
- ``lip``: a face reading a digit challenge (``Reading``, ``lip_capture``) with a matching voice
  (``voiced_audio``), encoded as WebM/MP4 (``encode_video``) or WAV;
- ``paced_grid``: paced digit readings cut from GRID corpus clips (real lips, real voice; needs
  ``../shared/facedata``);
- ``id_photo``: an ID-chip portrait (102x126, as a resident ID card's chip holds it) framed from a
  real photo.

Imported by the tests, ``bench/`` and ``miniprogram_stub/demo.py``; never by the service.
"""
