"""``agency-client ui``: the agency's local web workspace.

Served on 127.0.0.1 only, on a random port, opened once with a one-time token link and
unlocked with the key passphrase; it reads the client's encrypted store (decrypting in
memory only) and sends research responses and action updates through the same code as
the command line. :mod:`.app` builds the aiohttp application and its security
middleware, :mod:`.guard` holds the session, the CSRF token and the lock, :mod:`.views`
the pages, :mod:`.rendering` the templates, :mod:`.casebook` what the store holds
arranged by meeting and case, :mod:`.documents` FHIR and POLE documents as readable
sections, :mod:`.forms` the form parsers, :mod:`.formatting` dates and labels.
"""
