// The demo shop page of Chapter 12: pick a shopper, see her recommendations,
// click a product to log a click; the page then asks for new recommendations.
"use strict";

const picker = document.getElementById("user");
const kPicker = document.getElementById("k");
const grid = document.getElementById("products");
const statusLine = document.getElementById("status");
let lastRequest = null;

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.error || body.detail || response.statusText);
  }
  return body;
}

function card(item, position) {
  const div = document.createElement("div");
  div.className = "product";
  div.dataset.itemId = item.item_id;
  div.dataset.position = position;
  const img = document.createElement("img");
  img.src = item.image_url;
  img.alt = item.title;
  const title = document.createElement("div");
  title.className = "title";
  title.textContent = item.title;
  const category = document.createElement("div");
  category.className = "category";
  category.textContent = item.category;
  const price = document.createElement("div");
  price.className = "price";
  price.textContent = item.price.toFixed(2) + " EUR";
  div.append(img, title, category, price);
  div.addEventListener("click", () => clicked(item, position));
  return div;
}

async function refresh(message) {
  const user = picker.value;
  const k = kPicker.value;
  try {
    const rec = await getJSON(`/recommend?user_id=${user}&k=${k}`);
    lastRequest = rec.request_id;
    grid.replaceChildren(...rec.items.map(card));
    const path = rec.cold_start ? "cold start: popular products" : "two-tower + ranker";
    statusLine.textContent = (message ? message + " " : "") +
      `Shopper ${rec.user_id}: ${rec.items.length} products (${path}).`;
    document.body.dataset.loaded = String(Date.now());
  } catch (err) {
    statusLine.textContent = "Error: " + err.message;
  }
}

async function clicked(item, position) {
  try {
    const stored = await getJSON("/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        user_id: Number(picker.value), item_id: item.item_id, event: "click",
        position: position, request_id: lastRequest,
      }),
    });
    document.body.dataset.lastEvent = String(stored.event_ids[0]);
    await refresh(`Click on product ${item.item_id} stored (event ${stored.event_ids[0]}).`);
  } catch (err) {
    statusLine.textContent = "Error: " + err.message;
  }
}

async function start() {
  const { users } = await getJSON("/users");
  for (const u of users) {
    const option = document.createElement("option");
    option.value = u.user_id;
    option.textContent = `${u.user_id}${u.cold_start ? " (new shopper)" : ""}`;
    picker.append(option);
  }
  picker.addEventListener("change", () => refresh());
  kPicker.addEventListener("change", () => refresh());
  await refresh();
}

start();
