// The calls the Next.js app makes for a signed-in coach, typed by the
// generated `Database`. `tsc --noEmit` in CI compiles this file, so renaming a
// column, a view column, a function or one of its arguments breaks the build
// here, where the frontend would break.
import { createClient, type SupabaseClient } from "@supabase/supabase-js"

import type { Database, Enums, Tables } from "../../../supabase/types/database"

export type CoachClient = SupabaseClient<Database>

export function coachClient(url: string, anonKey: string, accessToken: string): CoachClient {
  return createClient<Database>(url, anonKey, {
    global: { headers: { Authorization: `Bearer ${accessToken}` } },
    auth: { persistSession: false },
  })
}

type Args<Name extends keyof Database["public"]["Functions"]> =
  Database["public"]["Functions"][Name]["Args"]

// The data of a response, or the PostgREST error's message thrown.
function must<Response extends { data: unknown; error: { message: string } | null }>(
  response: Response,
): NonNullable<Response["data"]> {
  if (response.error) throw new Error(response.error.message)
  if (response.data === null || response.data === undefined) throw new Error("no data")
  return response.data as NonNullable<Response["data"]>
}

// What each client owes, largest first.
export type Balance = {
  clientId: string
  name: string
  unpaidCents: number
  unpaidLessons: number
  oldestUnpaidAt: string | null
}

export async function balances(supabase: CoachClient): Promise<Balance[]> {
  const rows = must(
    await supabase
      .from("client_balances")
      .select(
        "client_id, first_name, last_name, unpaid_cents, unpaid_lessons, oldest_unpaid_at",
      )
      .gt("unpaid_cents", 0)
      .order("unpaid_cents", { ascending: false }),
  )
  return rows.map((row) => ({
    clientId: row.client_id ?? "",
    name: [row.first_name, row.last_name].filter(Boolean).join(" "),
    unpaidCents: row.unpaid_cents ?? 0,
    unpaidLessons: row.unpaid_lessons ?? 0,
    oldestUnpaidAt: row.oldest_unpaid_at,
  }))
}

export type Dashboard = {
  activeClients: number
  outstandingCents: number
  clientsWithBalance: number
  lessonsNext7Days: number
  revenue30DaysCents: number
}

export async function dashboard(supabase: CoachClient): Promise<Dashboard> {
  const row = must(
    await supabase
      .from("coach_dashboard")
      .select(
        "active_clients, outstanding_cents, clients_with_balance, lessons_next_7_days, revenue_30_days_cents",
      )
      .single(),
  )
  return {
    activeClients: row.active_clients ?? 0,
    outstandingCents: row.outstanding_cents ?? 0,
    clientsWithBalance: row.clients_with_balance ?? 0,
    lessonsNext7Days: row.lessons_next_7_days ?? 0,
    revenue30DaysCents: row.revenue_30_days_cents ?? 0,
  }
}

// The calendar: lessons of a period with their participants and clients.
export type CalendarLesson = {
  id: string
  title: string | null
  startTime: string
  endTime: string
  status: Enums<"lesson_status">
  participants: {
    clientId: string
    clientName: string
    priceCents: number
    paymentStatus: Enums<"payment_status">
    attended: boolean | null
  }[]
}

export async function calendar(
  supabase: CoachClient,
  from: string,
  to: string,
): Promise<CalendarLesson[]> {
  const rows = must(
    await supabase
      .from("lessons")
      .select(
        `id, title, start_time, end_time, status,
         lesson_participants (client_id, price_cents, payment_status, attended,
           clients (first_name, last_name))`,
      )
      .gte("start_time", from)
      .lt("start_time", to)
      .neq("status", "cancelled")
      .order("start_time"),
  )
  return rows.map((lesson) => ({
    id: lesson.id,
    title: lesson.title,
    startTime: lesson.start_time,
    endTime: lesson.end_time,
    status: lesson.status,
    participants: lesson.lesson_participants.map((p) => ({
      clientId: p.client_id,
      clientName: [p.clients.first_name, p.clients.last_name].filter(Boolean).join(" "),
      priceCents: p.price_cents,
      paymentStatus: p.payment_status,
      attended: p.attended,
    })),
  }))
}

export async function addClient(
  supabase: CoachClient,
  client: Pick<Tables<"clients">, "first_name" | "last_name" | "email" | "phone">,
): Promise<Tables<"clients">> {
  return must(await supabase.from("clients").insert(client).select().single())
}

// Every function a coach may call, with all its named arguments; an argument
// given as `undefined` is left out of the request and takes its default.

export async function createLesson(
  supabase: CoachClient,
  clientIds: string[],
  startTime: string,
  lessonTypeId: string,
): Promise<Tables<"lessons">> {
  return must(
    await supabase.rpc("create_lesson_with_participants", {
      p_client_ids: clientIds,
      p_start_time: startTime,
      p_lesson_type_id: lessonTypeId,
      p_title: "Private lesson",
      p_location: "Court 2",
      p_notes: "Bring a racket",
      p_price_cents: 4500,
      p_end_time: undefined,
    } satisfies Args<"create_lesson_with_participants">),
  )
}

export async function moveLesson(
  supabase: CoachClient,
  lessonId: string,
  startTime: string,
  endTime: string,
  clientIds: string[],
): Promise<Tables<"lessons">> {
  return must(
    await supabase.rpc("update_lesson", {
      p_lesson_id: lessonId,
      p_start_time: startTime,
      p_end_time: endTime,
      p_title: "Moved lesson",
      p_location: "Court 1",
      p_notes: "Moved at the client's request",
      p_client_ids: clientIds,
    } satisfies Args<"update_lesson">),
  )
}

export async function cancelLesson(
  supabase: CoachClient,
  lessonId: string,
  reason: string,
): Promise<Enums<"lesson_status">> {
  const lesson = must(
    await supabase.rpc("cancel_lesson", {
      p_lesson_id: lessonId,
      p_reason: reason,
    } satisfies Args<"cancel_lesson">),
  )
  return lesson.status
}

export async function completeLesson(
  supabase: CoachClient,
  lessonId: string,
  absentClientIds: string[],
): Promise<Tables<"lessons">> {
  return must(
    await supabase.rpc("complete_lesson", {
      p_lesson_id: lessonId,
      p_absent_client_ids: absentClientIds,
    } satisfies Args<"complete_lesson">),
  )
}

export async function createWeeklySeries(
  supabase: CoachClient,
  clientIds: string[],
  firstStartTime: string,
): Promise<Tables<"lessons">[]> {
  return must(
    await supabase.rpc("create_recurring_lessons", {
      p_client_ids: clientIds,
      p_first_start_time: firstStartTime,
      p_duration_minutes: 60,
      p_frequency: "weekly",
      p_until_date: "2027-06-30",
      p_occurrences: undefined,
      p_lesson_type_id: undefined,
      p_title: "Weekly lesson",
      p_location: "Pool",
      p_timezone: "Europe/Paris",
      p_price_cents: 3000,
    } satisfies Args<"create_recurring_lessons">),
  )
}

export async function cancelSeries(
  supabase: CoachClient,
  recurringLessonId: string,
  from: string,
): Promise<number> {
  return must(
    await supabase.rpc("cancel_recurring_lessons", {
      p_recurring_lesson_id: recurringLessonId,
      p_from: from,
    } satisfies Args<"cancel_recurring_lessons">),
  )
}

export async function recordCashPayment(
  supabase: CoachClient,
  clientId: string,
  participantIds: string[],
): Promise<{ amountCents: number; status: Enums<"payment_state"> }> {
  const payment = must(
    await supabase.rpc("record_payment", {
      p_client_id: clientId,
      p_participant_ids: participantIds,
      p_method: "cash",
      p_note: "Paid at the lesson",
    } satisfies Args<"record_payment">),
  )
  return { amountCents: payment.amount_cents, status: payment.status }
}

// A write the app may retry after a lost answer: done once per key.
export async function recordCashPaymentOnce(
  supabase: CoachClient,
  key: string,
  clientId: string,
  participantIds: string[],
): Promise<unknown> {
  return must(
    await supabase.rpc("idempotent_write", {
      p_key: key,
      p_write: {
        rpc: "record_payment",
        params: { p_client_id: clientId, p_participant_ids: participantIds, p_method: "cash" },
      },
    } satisfies Args<"idempotent_write">),
  )
}
