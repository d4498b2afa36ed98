"""Encryption at rest: the storage key ring, sealed files, and key rotation.

Every file holding plate data (images today; exports or evidence packages written to disk later) is written with
:func:`platekeeper.storage.sealing.write_sealed_file` and read with ``read_sealed_file``, so one key ring and one
rotation (``platekeeper keys rotate``) cover them all.
"""

__all__: list[str] = []
