// The capture page: consent -> challenge -> live frames (+ WAV for the digit mode) -> verdict.
// Opened with ?biz=<BizToken> (DetectAuth's Url for mini-program rules). No video is recorded:
// camera frames are JPEG-encoded one by one and sent in one multipart request after the capture,
// each named by its time in ms since the challenge started. miniprogram_stub/verify_client.py
// does the same steps in Python for the tests.
const app = getApp();
const config = require('../../config.js');
const multipart = require('../../multipart.js');

const FPS = 15;
const CONSENT_VERSION = '2026-11-v1';

function biz(path) { return '/api/biz/' + this.data.bizToken + path; }

// POST a prebuilt multipart body with the session token (app.api.request sends JSON only).
async function upload(path, body, contentType) {
  const token = await app.api.session();
  return new Promise((resolve, reject) => wx.request({
    url: config.apiBase + path, method: 'POST', data: body,
    header: { Authorization: 'Bearer ' + token, 'content-type': contentType },
    success: resolve, fail: (err) => reject(new Error(err.errMsg || 'network error'))
  }));
}

Page({
  data: { bizToken: '', step: 'consent', mode: '', prompt: '', flash: '', message: '', busy: false },

  async onLoad(query) {
    this.setData({ bizToken: query.biz || '' });
    this.path = biz.bind(this);
    try {
      await app.api.session();
      const status = await app.api.request('GET', this.path('/status'));
      if (status.statusCode !== 200) throw new Error(status.data.error.message);
      if (status.data.done) { this.finish(status.data); return; }
      this.setData({ mode: status.data.mode, step: status.data.consented ? 'capture' : 'consent' });
    } catch (err) { this.setData({ message: err.message }); }
  },

  async onAgree() {
    const res = await app.api.request('POST', this.path('/consent'), { agree: true, version: CONSENT_VERSION });
    if (res.statusCode !== 200) { this.setData({ message: res.data.error.message }); return; }
    this.setData({ step: 'capture' });
  },

  async onStart() {
    this.setData({ busy: true, message: '' });
    try {
      const ch = await app.api.request('GET', this.path('/challenge'));
      if (ch.statusCode !== 200) throw new Error(ch.data.error.message);
      const { frames, audio } = await this.capture(ch.data);
      this.setData({ step: 'checking', message: '正在核验…', flash: '' });
      const files = frames.map((f) => ({ field: 'frames', filename: f.t + '.jpg', type: 'image/jpeg', data: f.jpeg }));
      if (audio) files.push({ field: 'audio', filename: 'audio.wav', type: 'audio/wav', data: audio });
      const body = multipart.build({ nonce: ch.data.nonce }, files);
      const res = await upload(this.path('/frames'), body.body, body.contentType);
      if (res.statusCode !== 200) throw new Error(res.data.error.message);
      if (res.data.passed || res.data.finished) { this.finish(res.data); return; }
      this.setData({ step: 'capture', message: res.data.message + '（还可尝试 ' + res.data.attempts_left + ' 次）' });
    } catch (err) {
      this.setData({ step: 'capture', message: err.message });
    }
    this.setData({ busy: false });
  },

  // Frames from the camera listener, JPEG-encoded on an offscreen canvas; light mode paints the
  // page in the issued colours, digit mode shows the code and records 16 kHz mono WAV.
  capture(challenge) {
    const spec = challenge.challenge;
    const duration = challenge.mode === 'light' ? spec.colors.length * spec.slot_ms + 300 : 4000;
    const frames = [];
    const canvas = wx.createOffscreenCanvas({ type: '2d', width: 1, height: 1 });
    const recorder = challenge.mode === 'lip' ? wx.getRecorderManager() : null;
    if (recorder) {
      this.setData({ prompt: spec.code });
      recorder.start({ format: 'wav', sampleRate: 16000, numberOfChannels: 1, duration: duration + 500 });
    }
    return new Promise((resolve, reject) => {
      const camera = wx.createCameraContext();
      const t0 = Date.now();
      let last = -1000;
      const listener = camera.onCameraFrame((frame) => {
        const t = Date.now() - t0;
        if (challenge.mode === 'light') {
          const k = Math.floor(t / spec.slot_ms);
          const colour = k < spec.colors.length ? spec.colors[k] : '';
          if (colour !== this.data.flash) this.setData({ flash: colour });
        }
        if (t - last < 1000 / FPS) return;
        last = t;
        canvas.width = frame.width; canvas.height = frame.height;
        const ctx = canvas.getContext('2d');
        const img = ctx.createImageData(frame.width, frame.height);
        img.data.set(new Uint8ClampedArray(frame.data));
        ctx.putImageData(img, 0, 0);
        const b64 = canvas.toDataURL('image/jpeg', 0.85).split(',')[1];
        frames.push({ t, jpeg: wx.base64ToArrayBuffer(b64) });
        if (t >= duration) {
          listener.stop();
          if (!recorder) { resolve({ frames, audio: null }); return; }
          recorder.onStop((res) => {
            wx.getFileSystemManager().readFile({
              filePath: res.tempFilePath,
              success: (file) => resolve({ frames, audio: file.data }),
              fail: (err) => reject(new Error(err.errMsg))
            });
          });
          recorder.stop();
        }
      });
      listener.start({ fail: (err) => reject(new Error(err.errMsg || '无法打开摄像头')) });
    });
  },

  finish(result) {
    this.setData({ step: 'done', prompt: '', flash: '', message: result.message || '核身已结束' });
    // Back to the merchant's mini-program with the token; it pulls the result server-side.
    wx.navigateBackMiniProgram({ extraData: { BizToken: this.data.bizToken } });
  }
});
