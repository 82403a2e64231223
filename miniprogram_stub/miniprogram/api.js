// Talking to our service: sign-in (wx.login -> POST /api/mp/login) and authorised requests that carry
// the session token as `Authorization: Bearer <token>`. The session_key never reaches the phone's code:
// the service keeps it.
const config = require('./config.js');

const TOKEN_KEY = 'wxfaceid.session';

function appId() {
  return wx.getAccountInfoSync().miniProgram.appId;
}

function rawRequest(method, path, data, token) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.apiBase + path,
      method,
      data,
      header: token ? { Authorization: 'Bearer ' + token } : {},
      success: (res) => resolve(res),
      fail: (err) => reject(new Error(err.errMsg || 'network error'))
    });
  });
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(new Error('wx.login gave no code'))),
      fail: (err) => reject(new Error(err.errMsg || 'wx.login failed'))
    });
  });
}

function storedSession() {
  const saved = wx.getStorageSync(TOKEN_KEY);
  if (saved && saved.token && saved.expiresAt > Date.now()) {
    return saved.token;
  }
  return null;
}

// A fresh session: a new wx.login code exchanged by our service (code2session happens server-side).
async function login() {
  const code = await wxLogin();
  const res = await rawRequest('POST', '/api/mp/login', { appid: appId(), code });
  if (res.statusCode !== 200) {
    const error = (res.data && res.data.error) || {};
    throw new Error(error.message || ('登录失败 HTTP ' + res.statusCode));
  }
  const expiresAt = Date.now() + (res.data.expires_in - 60) * 1000;
  wx.setStorageSync(TOKEN_KEY, { token: res.data.session_token, expiresAt });
  return res.data.session_token;
}

async function session() {
  return storedSession() || login();
}

// An authorised call; on FailedOperation.SessionRequired it signs in again once and retries.
async function request(method, path, data) {
  let res = await rawRequest(method, path, data, await session());
  const code = res.data && res.data.error && res.data.error.code;
  if (res.statusCode === 401 && code === 'FailedOperation.SessionRequired') {
    wx.removeStorageSync(TOKEN_KEY);
    res = await rawRequest(method, path, data, await login());
  }
  return res;
}

// The user's profile: WeChat encrypts it with the session key, our service decrypts it.
function userInfo() {
  return new Promise((resolve, reject) => {
    wx.getUserProfile({
      desc: '用于展示你的微信昵称和头像',
      success: async (res) => {
        try {
          const answer = await request('POST', '/api/mp/userinfo',
            { encryptedData: res.encryptedData, iv: res.iv });
          if (answer.statusCode !== 200) {
            reject(new Error((answer.data.error || {}).message || '获取用户信息失败'));
            return;
          }
          resolve(answer.data.userInfo);
        } catch (err) {
          reject(err);
        }
      },
      fail: (err) => reject(new Error(err.errMsg || '用户拒绝授权'))
    });
  });
}

module.exports = { login, session, request, userInfo };
