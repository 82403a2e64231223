// The verification page. Opened with ?biz=<BizToken> from the merchant's mini-program or link.
// This part signs the user in; the capture (consent, camera, frames) is built on app.api.request.
const app = getApp();

Page({
  data: {
    bizToken: '',
    status: 'signing-in',     // signing-in | ready | error
    message: '正在登录…',
    nickName: ''
  },

  onLoad(query) {
    this.setData({ bizToken: query.biz || '' });
    this.signIn();
  },

  async signIn() {
    this.setData({ status: 'signing-in', message: '正在登录…' });
    try {
      await app.api.session();
      this.setData({ status: 'ready', message: '登录成功' });
    } catch (err) {
      this.setData({ status: 'error', message: err.message });
    }
  },

  async onShowProfile() {
    try {
      const info = await app.api.userInfo();
      this.setData({ nickName: info.nickName });
    } catch (err) {
      wx.showToast({ title: err.message, icon: 'none' });
    }
  },

  onRetry() {
    this.signIn();
  }
});
