"""Application protocols decoded from socket payload bytes: detection from a connection's first
bytes, HTTP/1.x and MySQL request/response pairing.
"""
