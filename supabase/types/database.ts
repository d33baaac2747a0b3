export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      audit_log: {
        Row: {
          action: Database["public"]["Enums"]["audit_action"]
          actor_id: string | null
          actor_role: string
          coach_id: string | null
          created_at: string
          id: string
          new_data: Json | null
          occurred_at: string
          old_data: Json | null
          record_id: string | null
          request_id: string | null
          table_name: string
        }
        Insert: {
          action: Database["public"]["Enums"]["audit_action"]
          actor_id?: string | null
          actor_role: string
          coach_id?: string | null
          created_at?: string
          id?: string
          new_data?: Json | null
          occurred_at?: string
          old_data?: Json | null
          record_id?: string | null
          request_id?: string | null
          table_name: string
        }
        Update: {
          action?: Database["public"]["Enums"]["audit_action"]
          actor_id?: string | null
          actor_role?: string
          coach_id?: string | null
          created_at?: string
          id?: string
          new_data?: Json | null
          occurred_at?: string
          old_data?: Json | null
          record_id?: string | null
          request_id?: string | null
          table_name?: string
        }
        Relationships: []
      }
      clients: {
        Row: {
          coach_id: string
          created_at: string
          email: string | null
          first_name: string
          id: string
          is_active: boolean
          last_name: string | null
          notes: string | null
          phone: string | null
          updated_at: string
        }
        Insert: {
          coach_id?: string
          created_at?: string
          email?: string | null
          first_name: string
          id?: string
          is_active?: boolean
          last_name?: string | null
          notes?: string | null
          phone?: string | null
          updated_at?: string
        }
        Update: {
          coach_id?: string
          created_at?: string
          email?: string | null
          first_name?: string
          id?: string
          is_active?: boolean
          last_name?: string | null
          notes?: string | null
          phone?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "clients_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "clients_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
        ]
      }
      coaches: {
        Row: {
          business_name: string | null
          created_at: string
          currency: string
          email: string | null
          full_name: string | null
          id: string
          stripe_account_id: string | null
          timezone: string
          updated_at: string
        }
        Insert: {
          business_name?: string | null
          created_at?: string
          currency?: string
          email?: string | null
          full_name?: string | null
          id: string
          stripe_account_id?: string | null
          timezone?: string
          updated_at?: string
        }
        Update: {
          business_name?: string | null
          created_at?: string
          currency?: string
          email?: string | null
          full_name?: string | null
          id?: string
          stripe_account_id?: string | null
          timezone?: string
          updated_at?: string
        }
        Relationships: []
      }
      lesson_participants: {
        Row: {
          attended: boolean | null
          client_id: string
          coach_id: string
          created_at: string
          id: string
          lesson_id: string
          lesson_start_time: string | null
          paid_at: string | null
          payment_id: string | null
          payment_status: Database["public"]["Enums"]["payment_status"]
          price_cents: number
          updated_at: string
        }
        Insert: {
          attended?: boolean | null
          client_id: string
          coach_id?: string
          created_at?: string
          id?: string
          lesson_id: string
          lesson_start_time?: string | null
          paid_at?: string | null
          payment_id?: string | null
          payment_status?: Database["public"]["Enums"]["payment_status"]
          price_cents: number
          updated_at?: string
        }
        Update: {
          attended?: boolean | null
          client_id?: string
          coach_id?: string
          created_at?: string
          id?: string
          lesson_id?: string
          lesson_start_time?: string | null
          paid_at?: string | null
          payment_id?: string | null
          payment_status?: Database["public"]["Enums"]["payment_status"]
          price_cents?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "lesson_participants_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "client_balances"
            referencedColumns: ["client_id", "coach_id"]
          },
          {
            foreignKeyName: "lesson_participants_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["id", "coach_id"]
          },
          {
            foreignKeyName: "lesson_participants_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "lesson_participants_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "lesson_participants_lesson_fkey"
            columns: ["lesson_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "lesson_history"
            referencedColumns: ["lesson_id", "coach_id"]
          },
          {
            foreignKeyName: "lesson_participants_lesson_fkey"
            columns: ["lesson_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "lessons"
            referencedColumns: ["id", "coach_id"]
          },
          {
            foreignKeyName: "lesson_participants_payment_fkey"
            columns: ["payment_id", "client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "payments"
            referencedColumns: ["id", "client_id", "coach_id"]
          },
        ]
      }
      lesson_types: {
        Row: {
          coach_id: string
          created_at: string
          description: string | null
          duration_minutes: number
          id: string
          is_active: boolean
          max_participants: number
          name: string
          price_cents: number
          updated_at: string
        }
        Insert: {
          coach_id?: string
          created_at?: string
          description?: string | null
          duration_minutes: number
          id?: string
          is_active?: boolean
          max_participants?: number
          name: string
          price_cents?: number
          updated_at?: string
        }
        Update: {
          coach_id?: string
          created_at?: string
          description?: string | null
          duration_minutes?: number
          id?: string
          is_active?: boolean
          max_participants?: number
          name?: string
          price_cents?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "lesson_types_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "lesson_types_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
        ]
      }
      lessons: {
        Row: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }
        Insert: {
          cancellation_reason?: string | null
          cancelled_at?: string | null
          client_id?: string | null
          coach_id?: string
          created_at?: string
          end_time: string
          id?: string
          is_recurring?: boolean
          lesson_type_id?: string | null
          location?: string | null
          notes?: string | null
          price_cents?: number
          recurring_lesson_id?: string | null
          start_time: string
          status?: Database["public"]["Enums"]["lesson_status"]
          title?: string | null
          updated_at?: string
        }
        Update: {
          cancellation_reason?: string | null
          cancelled_at?: string | null
          client_id?: string | null
          coach_id?: string
          created_at?: string
          end_time?: string
          id?: string
          is_recurring?: boolean
          lesson_type_id?: string | null
          location?: string | null
          notes?: string | null
          price_cents?: number
          recurring_lesson_id?: string | null
          start_time?: string
          status?: Database["public"]["Enums"]["lesson_status"]
          title?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "lessons_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "client_balances"
            referencedColumns: ["client_id", "coach_id"]
          },
          {
            foreignKeyName: "lessons_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["id", "coach_id"]
          },
          {
            foreignKeyName: "lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "lessons_lesson_type_fkey"
            columns: ["lesson_type_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "lesson_types"
            referencedColumns: ["id", "coach_id"]
          },
          {
            foreignKeyName: "lessons_recurring_lesson_fkey"
            columns: ["recurring_lesson_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "recurring_lessons"
            referencedColumns: ["id", "coach_id"]
          },
        ]
      }
      payments: {
        Row: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        Insert: {
          amount_cents: number
          client_id: string
          coach_id?: string
          created_at?: string
          credit_cents?: number
          currency?: string
          id?: string
          method: Database["public"]["Enums"]["payment_method"]
          note?: string | null
          paid_at?: string | null
          refunded_cents?: number
          status?: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id?: string | null
          stripe_payment_intent_id?: string | null
          updated_at?: string
        }
        Update: {
          amount_cents?: number
          client_id?: string
          coach_id?: string
          created_at?: string
          credit_cents?: number
          currency?: string
          id?: string
          method?: Database["public"]["Enums"]["payment_method"]
          note?: string | null
          paid_at?: string | null
          refunded_cents?: number
          status?: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id?: string | null
          stripe_payment_intent_id?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "payments_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "client_balances"
            referencedColumns: ["client_id", "coach_id"]
          },
          {
            foreignKeyName: "payments_client_fkey"
            columns: ["client_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["id", "coach_id"]
          },
          {
            foreignKeyName: "payments_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "payments_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
        ]
      }
      recurring_lessons: {
        Row: {
          coach_id: string
          created_at: string
          duration_minutes: number
          first_start_time: string
          frequency: Database["public"]["Enums"]["lesson_frequency"]
          id: string
          is_active: boolean
          lesson_type_id: string | null
          occurrences: number | null
          timezone: string
          title: string | null
          until_date: string | null
          updated_at: string
        }
        Insert: {
          coach_id?: string
          created_at?: string
          duration_minutes: number
          first_start_time: string
          frequency: Database["public"]["Enums"]["lesson_frequency"]
          id?: string
          is_active?: boolean
          lesson_type_id?: string | null
          occurrences?: number | null
          timezone: string
          title?: string | null
          until_date?: string | null
          updated_at?: string
        }
        Update: {
          coach_id?: string
          created_at?: string
          duration_minutes?: number
          first_start_time?: string
          frequency?: Database["public"]["Enums"]["lesson_frequency"]
          id?: string
          is_active?: boolean
          lesson_type_id?: string | null
          occurrences?: number | null
          timezone?: string
          title?: string | null
          until_date?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "recurring_lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "recurring_lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "recurring_lessons_lesson_type_fkey"
            columns: ["lesson_type_id", "coach_id"]
            isOneToOne: false
            referencedRelation: "lesson_types"
            referencedColumns: ["id", "coach_id"]
          },
        ]
      }
      stripe_events: {
        Row: {
          account_id: string | null
          created_at: string
          id: string
          outcome: string | null
          payload: NonNullable<Json>
          processed_at: string | null
          received_at: string
          type: string
          updated_at: string
        }
        Insert: {
          account_id?: string | null
          created_at?: string
          id: string
          outcome?: string | null
          payload?: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          type: string
          updated_at?: string
        }
        Update: {
          account_id?: string | null
          created_at?: string
          id?: string
          outcome?: string | null
          payload?: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          type?: string
          updated_at?: string
        }
        Relationships: []
      }
    }
    Views: {
      client_balances: {
        Row: {
          client_id: string | null
          coach_id: string | null
          first_name: string | null
          last_lesson_at: string | null
          last_name: string | null
          oldest_unpaid_at: string | null
          unpaid_cents: number | null
          unpaid_lessons: number | null
        }
        Relationships: [
          {
            foreignKeyName: "clients_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "clients_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
        ]
      }
      coach_dashboard: {
        Row: {
          active_clients: number | null
          clients_with_balance: number | null
          coach_id: string | null
          lessons_next_7_days: number | null
          outstanding_cents: number | null
          revenue_30_days_cents: number | null
        }
        Relationships: []
      }
      lesson_history: {
        Row: {
          client_id: string | null
          client_name: string | null
          coach_id: string | null
          end_time: string | null
          lesson_id: string | null
          lesson_type_name: string | null
          participant_id: string | null
          payment_status: Database["public"]["Enums"]["payment_status"] | null
          price_cents: number | null
          start_time: string | null
          status: Database["public"]["Enums"]["lesson_status"] | null
          title: string | null
        }
        Relationships: [
          {
            foreignKeyName: "lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coach_dashboard"
            referencedColumns: ["coach_id"]
          },
          {
            foreignKeyName: "lessons_coach_id_fkey"
            columns: ["coach_id"]
            isOneToOne: false
            referencedRelation: "coaches"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Functions: {
      cancel_lesson: {
        Args: { p_lesson_id: string; p_reason?: string }
        Returns: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "lessons"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      cancel_recurring_lessons: {
        Args: { p_from?: string; p_recurring_lesson_id: string }
        Returns: number
      }
      complete_lesson: {
        Args: { p_absent_client_ids?: string[]; p_lesson_id: string }
        Returns: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "lessons"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      create_lesson_with_participants: {
        Args: {
          p_client_ids: string[]
          p_end_time?: string
          p_lesson_type_id?: string
          p_location?: string
          p_notes?: string
          p_price_cents?: number
          p_start_time: string
          p_title?: string
        }
        Returns: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "lessons"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      create_recurring_lessons: {
        Args: {
          p_client_ids: string[]
          p_duration_minutes: number
          p_first_start_time: string
          p_frequency: string
          p_lesson_type_id?: string
          p_location?: string
          p_occurrences?: number
          p_price_cents?: number
          p_timezone?: string
          p_title?: string
          p_until_date?: string
        }
        Returns: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }[]
        SetofOptions: {
          from: "*"
          to: "lessons"
          isOneToOne: false
          isSetofReturn: true
        }
      }
      create_stripe_checkout_payment: {
        Args: {
          p_checkout_session_id: string
          p_client_id: string
          p_coach_id: string
          p_participant_ids: string[]
          p_payment_id?: string
        }
        Returns: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "payments"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      fail_stripe_checkout: {
        Args: { p_checkout_session_id: string; p_event_id: string }
        Returns: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "payments"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      finish_stripe_event: {
        Args: { p_event_id: string; p_outcome: string }
        Returns: boolean
      }
      idempotent_write: {
        Args: { p_key: string; p_write: Json }
        Returns: Json
      }
      record_payment: {
        Args: {
          p_client_id: string
          p_method: string
          p_note?: string
          p_participant_ids: string[]
        }
        Returns: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "payments"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      record_stripe_event: {
        Args: {
          p_account_id?: string
          p_event_id: string
          p_payload?: string
          p_type: string
        }
        Returns: boolean
      }
      refund_stripe_payment: {
        Args: {
          p_amount_refunded: number
          p_event_id: string
          p_payment_intent_id: string
        }
        Returns: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "payments"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      settle_stripe_checkout: {
        Args: {
          p_amount_cents: number
          p_checkout_session_id: string
          p_event_id: string
          p_payment_intent_id: string
        }
        Returns: {
          amount_cents: number
          client_id: string
          coach_id: string
          created_at: string
          credit_cents: number
          currency: string
          id: string
          method: Database["public"]["Enums"]["payment_method"]
          note: string | null
          paid_at: string | null
          refunded_cents: number
          status: Database["public"]["Enums"]["payment_state"]
          stripe_checkout_session_id: string | null
          stripe_payment_intent_id: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "payments"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      update_lesson: {
        Args: {
          p_client_ids?: string[]
          p_end_time?: string
          p_lesson_id: string
          p_location?: string
          p_notes?: string
          p_start_time?: string
          p_title?: string
        }
        Returns: {
          cancellation_reason: string | null
          cancelled_at: string | null
          client_id: string | null
          coach_id: string
          created_at: string
          end_time: string
          id: string
          is_recurring: boolean
          lesson_type_id: string | null
          location: string | null
          notes: string | null
          price_cents: number
          recurring_lesson_id: string | null
          start_time: string
          status: Database["public"]["Enums"]["lesson_status"]
          title: string | null
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "lessons"
          isOneToOne: true
          isSetofReturn: false
        }
      }
    }
    Enums: {
      audit_action: "INSERT" | "UPDATE" | "DELETE"
      lesson_frequency: "weekly" | "biweekly"
      lesson_status: "scheduled" | "completed" | "cancelled" | "no_show"
      payment_method: "stripe" | "cash" | "card" | "bank_transfer" | "other"
      payment_state: "pending" | "succeeded" | "failed" | "refunded"
      payment_status: "unpaid" | "paid" | "waived" | "refunded"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {
      audit_action: ["INSERT", "UPDATE", "DELETE"],
      lesson_frequency: ["weekly", "biweekly"],
      lesson_status: ["scheduled", "completed", "cancelled", "no_show"],
      payment_method: ["stripe", "cash", "card", "bank_transfer", "other"],
      payment_state: ["pending", "succeeded", "failed", "refunded"],
      payment_status: ["unpaid", "paid", "waived", "refunded"],
    },
  },
} as const

