import asyncio, time, uvloop, httptools
REQ=b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
HEAD=b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:18500\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(REQ)
class Conn(asyncio.Protocol):
    def __init__(self): self.parser=httptools.HttpResponseParser(self); self.fut=None; self.body=[]; self.headers=[]
    def connection_made(self,t): self.t=t
    def data_received(self,d): self.parser.feed_data(d)
    def on_header(self,n,v): self.headers.append((n,v))
    def on_body(self,b): self.body.append(b)
    def on_message_complete(self):
        f=self.fut; self.fut=None; f.set_result((self.parser.get_status_code(), self.headers, b"".join(self.body)))
    def request(self, data):
        self.fut=asyncio.get_running_loop().create_future(); self.body=[]; self.headers=[]
        self.t.write(data); return self.fut
async def main():
    loop=asyncio.get_running_loop()
    _, c = await loop.create_connection(Conn, "127.0.0.1", 18500)
    N=5000
    for _ in range(200): await c.request(HEAD+REQ)
    t=time.perf_counter()
    for _ in range(N): await c.request(HEAD+REQ)
    print("raw", (time.perf_counter()-t)/N*1e6, "us")
uvloop.run(main())
