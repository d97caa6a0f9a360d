import socket, hashlib
secret = b"Junet-golden-secret"  # the secret radclient was given (-S)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 18130))
s.settimeout(5)
n = 0
try:
    while True:
        d, a = s.recvfrom(5000)
        n += 1
        open(f"/tmp/radcap-{n}.bin", "wb").write(d)
        hdr = bytes([5, d[1], 0, 20])
        auth = hashlib.md5(hdr + d[4:20] + secret).digest()
        s.sendto(hdr + auth, a)
except socket.timeout:
    pass
print(n)
