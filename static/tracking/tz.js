// Remember the browser's time zone so the next visit shows scan times in it (the page works without this).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/track/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: the shop's time zone is used */ }
})();
