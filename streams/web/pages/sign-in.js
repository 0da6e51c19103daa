// The token goes into a cookie of this site only (never the URL): the page and its event stream
// send it back by themselves. The cookie ends with the browser session.
document.getElementById("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = document.getElementById("token").value.trim();
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "kompensasi_token=" + encodeURIComponent(token) + "; Path=/; SameSite=Strict" + secure;
  location.reload();
});
