"""HTTP/1.1 on the standard library: the listening server, connections, the one head
parser, requests with their bodies, and responses. It knows nothing of jobs or routes:
a connection calls the application it is given and writes the Response it returns."""
