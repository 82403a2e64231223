const api = require('./api.js');

App({
  globalData: { signedIn: false, signInError: '' },

  onLaunch() {
    // Sign in early so the first verification request does not wait for code2session.
    api.session()
      .then(() => { this.globalData.signedIn = true; })
      .catch((err) => { this.globalData.signInError = err.message; });
  },

  api
});
