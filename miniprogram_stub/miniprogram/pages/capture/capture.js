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
const READY = '准备';
const READ_HINT = '数字出现时，请立即读出';

function biz(path) { return '/api/biz/' + this.data.bizToken + path; }

// Paced digit challenge: before show_ms[0] a get-ready hint, then digit k alone from show_ms[k]
// (ms since t0) until the next appears. The prompt goes blank BLANK_MS before each digit, so that a
// digit equal to the one before is still seen to appear. Without show_ms the whole code at once.
const BLANK_MS = 120;
function showDigits(page, spec, t0) {
  const show = spec.show_ms || [];
  if (!show.length) { page.setData({ prompt: spec.code }); return []; }
  page.setData({ prompt: READY, message: READ_HINT });
  const at = (ms, text) => setTimeout(() => page.setData({ prompt: text }), Math.max(0, ms - (Date.now() - t0)));
  return show.flatMap((ms, k) => [at(ms - BLANK_MS, ''), at(ms, spec.code[k])]);
}

// Starts the recorder and resolves once it is recording, so that the WAV's first sample is at t0.
function startRecorder(recorder, durationMs) {
  return new Promise((resolve, reject) => {
    recorder.onStart(resolve);
    recorder.onError((err) => reject(new Error(err.errMsg || '无法录音')));
    recorder.start({ format: 'wav', sampleRate: 16000, numberOfChannels: 1, duration: durationMs });
  });
}

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

  // Frames from the camera listener, JPEG-encoded on an offscreen canvas and named by their time
  // since t0; light mode paints the page in the issued colours, digit mode shows each digit alone at
  // its issued moment (show_ms, on the same t0) and records 16 kHz mono WAV from t0, so the server
  // can check that the speech and the mouth follow the digits.
  async capture(challenge) {
    const spec = challenge.challenge;
    const lip = challenge.mode === 'lip';
    const duration = challenge.mode === 'light' ? spec.colors.length * spec.slot_ms + 300
      : (lip && spec.duration_ms) || 4000;
    const frames = [];
    const canvas = wx.createOffscreenCanvas({ type: '2d', width: 1, height: 1 });
    const recorder = lip ? wx.getRecorderManager() : null;
    if (recorder) await startRecorder(recorder, duration + 500);
    return new Promise((resolve, reject) => {
      const camera = wx.createCameraContext();
      const t0 = Date.now();
      const timers = lip ? showDigits(this, spec, t0) : [];
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
          timers.forEach(clearTimeout);
          if (lip) this.setData({ prompt: '' });
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
