// The demo's service worker (SPEC §11): shows each Web Push as a notification. The payload
// is the notification JSON the server published ({id, notification_type, title, body,
// message, data, ...}); a click focuses or opens the demo page.
self.addEventListener("push", (event) => {
  let n = {};
  try { n = event.data ? event.data.json() : {}; } catch { n = { body: event.data?.text() }; }
  const title = n.title || n.notification_type || "New notification";
  event.waitUntil(self.registration.showNotification(title, { body: n.body || n.message || "", tag: n.id, data: n }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    if (pages.length) return pages[0].focus();
    return self.clients.openWindow("/");
  })());
});
