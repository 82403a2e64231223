// Where our service is. Development: the service started by `make run` (in WeChat DevTools tick
// "不校验合法域名" so plain http://127.0.0.1 is allowed). Production: the merchant's HTTPS domain,
// registered as a request domain in the mini-program console.
module.exports = {
  apiBase: 'http://127.0.0.1:8000'
};
