// multipart/form-data by hand: wx.uploadFile carries one file per request, and a capture is one
// request of many JPEG frames (+ an optional WAV), so the page assembles the body itself.
function utf8(text) {
  const out = [];
  for (const ch of unescape(encodeURIComponent(text))) out.push(ch.charCodeAt(0));
  return new Uint8Array(out);
}

function build(fields, files) {
  const boundary = '----wxfaceid' + Date.now().toString(16) + Math.random().toString(16).slice(2);
  const chunks = [];
  Object.keys(fields).forEach((name) => {
    chunks.push(utf8('--' + boundary + '\r\nContent-Disposition: form-data; name="' + name + '"\r\n\r\n'
      + fields[name] + '\r\n'));
  });
  files.forEach((f) => {
    chunks.push(utf8('--' + boundary + '\r\nContent-Disposition: form-data; name="' + f.field
      + '"; filename="' + f.filename + '"\r\nContent-Type: ' + f.type + '\r\n\r\n'));
    chunks.push(new Uint8Array(f.data));
    chunks.push(utf8('\r\n'));
  });
  chunks.push(utf8('--' + boundary + '--\r\n'));
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const body = new Uint8Array(size);
  let offset = 0;
  chunks.forEach((c) => { body.set(c, offset); offset += c.length; });
  return { body: body.buffer, contentType: 'multipart/form-data; boundary=' + boundary };
}

module.exports = { build };
