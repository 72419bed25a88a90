"""urllib3 connection pools that check the address they actually connected to.

S3 endpoints are named by users; the outbound policy refuses link-local and metadata
addresses. Checking the connected socket's peer, rather than a lookup made beforehand, leaves
no window for a name to resolve differently between the check and the connection.
"""

import ipaddress
import socket

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from shared.outbound import OutboundPolicy, OutboundRefusedError


class RefusedTargetError(NewConnectionError):
    """The endpoint connected to an address the outbound policy refuses."""

    def __init__(self, conn: HTTPConnection, sentence: str) -> None:
        super().__init__(conn, sentence)
        self.sentence = sentence


def _checked(sock: socket.socket, conn: HTTPConnection, policy: OutboundPolicy) -> None:
    try:
        policy.check_address(conn.host, ipaddress.ip_address(sock.getpeername()[0]))
    except OutboundRefusedError as exc:
        sock.close()
        raise RefusedTargetError(conn, str(exc)) from None


def checked_pools(http: urllib3.PoolManager, policy: OutboundPolicy) -> urllib3.PoolManager:
    """`http`, whose every new connection is checked against `policy`."""

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _checked(sock, self, policy)
            return sock

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _checked(sock, self, policy)
            return sock

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    http.pool_classes_by_scheme = {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}
    return http
